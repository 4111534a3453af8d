"""Labels, packing slips, pick sheets and manifests render as PDFs whose text and size poppler can read."""

import dataclasses
import re
import subprocess
from datetime import date, datetime
from zoneinfo import ZoneInfo

from fulfillment.carriers.base import Address
from fulfillment.documents import (
    LabelData,
    ManifestData,
    ManifestRow,
    PackingSlipData,
    PackingSlipLine,
    PickSheetData,
    PickSheetRow,
    carrier_manifest_pdf,
    packing_slip_pdf,
    pick_sheet_pdf,
    shipping_label_pdf,
)

CHICAGO = ZoneInfo("America/Chicago")
STORE = Address(name="Storefill Chicago Loop", address1="120 N State St", city="Chicago", province="IL",
                postal_code="60602", country="US")
BERLIN_STORE = Address(name="Storefill Berlin Mitte", address1="Rosenthaler Str. 40", city="Berlin",
                       postal_code="10178", country="DE")
CUSTOMER = Address(name="Zoë Müller", address1="4567 W Fullerton Ave", address2="Apt 12B", city="Evanston",
                   province="IL", postal_code="60201", country="US")
MARGIN = 40  # the documents' 15 mm side margins, less a little
LONG = "Maximiliane Theresia von Hohenzollern-Sigmaringen und Schwarzenberg-Ostrowski " * 3


def pdf_file(pdf: bytes, tmp_path, name="document.pdf"):
    path = tmp_path / name
    path.write_bytes(pdf)
    return path


def pdf_info(pdf: bytes, tmp_path) -> str:
    return subprocess.run(["pdfinfo", str(pdf_file(pdf, tmp_path))], capture_output=True, text=True,
                          check=True).stdout


def pdf_text(pdf: bytes, tmp_path) -> str:
    return subprocess.run(["pdftotext", str(pdf_file(pdf, tmp_path)), "-"], capture_output=True, text=True,
                          check=True).stdout


def pdf_pages(pdf: bytes, tmp_path) -> int:
    return int(re.search(r"^Pages:\s+(\d+)", pdf_info(pdf, tmp_path), re.M).group(1))


def words_past_margins(pdf: bytes, tmp_path, margin: float) -> list[str]:
    """Every word reaching into the left or right margin or off the page: text that overflowed.

    Checked against the margins, not the page edge, because pdftotext drops characters that start
    beyond the page: overflowing text shows up as a word running through the margin.
    """
    html = subprocess.run(["pdftotext", "-bbox", str(pdf_file(pdf, tmp_path)), "-"], capture_output=True,
                          text=True, check=True).stdout
    off = []
    for page in re.finditer(r'<page width="([\d.]+)" height="([\d.]+)">(.*?)</page>', html, re.S):
        width, height = float(page.group(1)), float(page.group(2))
        for box in re.finditer(r'xMin="([\d.-]+)" yMin="([\d.-]+)" xMax="([\d.-]+)" yMax="([\d.-]+)">([^<]*)<',
                               page.group(3)):
            x_min, y_min, x_max, y_max = map(float, box.groups()[:4])
            if x_min < margin or x_max > width - margin or y_min < 0 or y_max > height:
                off.append(box.group(5))
    return off


def label_data(**changes) -> LabelData:
    data = LabelData(
        sender=STORE, recipient=CUSTOMER, carrier_name="Storefill Post", service_name="Ground, 3–5 days",
        weight_grams=1250, tracking_number="SF000000014US", reference="#1001", parcel_index=1, parcel_count=2,
        shipped_on=date(2025, 3, 3),
    )
    return dataclasses.replace(data, **changes)


# --- Shipping label -----------------------------------------------------------------------------


def test_label_is_four_by_six_inches(tmp_path):
    info = pdf_info(shipping_label_pdf(label_data()), tmp_path)

    assert "Page size:       288 x 432 pts" in info
    assert re.search(r"^Pages:\s+1$", info, re.M)


def test_label_shows_tracking_number_recipient_and_parcel_details(tmp_path):
    text = pdf_text(shipping_label_pdf(label_data()), tmp_path)

    for expected in ("SF000000014US", "Zoë Müller", "Evanston", "SHIP TO", "FROM", "Storefill Chicago Loop",
                     "Storefill Post", "Ground, 3–5 days", "1.250 kg", "Parcel 1 of 2", "#1001", "03 Mar 2025"):
        assert expected in text, expected
    assert "RETURN" not in text


def test_return_label_has_a_return_banner(tmp_path):
    data = label_data(sender=CUSTOMER, recipient=STORE, tracking_number="RF000000028US", is_return=True)

    text = pdf_text(shipping_label_pdf(data), tmp_path)

    assert "RETURN" in text
    assert "RF000000028US" in text
    assert text.index("SHIP TO") < text.index("Storefill Chicago Loop")


def test_label_replaces_characters_the_fonts_cannot_show(tmp_path):
    recipient = dataclasses.replace(CUSTOMER, name="Łukasz 東京 Nowak 🎁", city="Zürich")

    text = pdf_text(shipping_label_pdf(label_data(recipient=recipient)), tmp_path)

    assert "Lukasz ?? Nowak ?" in text
    assert "Zürich" in text


def test_long_label_fields_stay_on_the_label(tmp_path):
    long_address = dataclasses.replace(CUSTOMER, name=LONG, company=LONG, address1=LONG, address2=LONG, city=LONG)
    data = label_data(sender=long_address, recipient=long_address, carrier_name=LONG, service_name=LONG,
                      reference=LONG)

    pdf = shipping_label_pdf(data)

    assert pdf_pages(pdf, tmp_path) == 1
    assert words_past_margins(pdf, tmp_path, margin=8) == []  # the label's border
    text = pdf_text(pdf, tmp_path)
    assert "SF000000014US" in text and "…" in text


# --- Packing slip -------------------------------------------------------------------------------


def slip_data(facility_address=STORE, lines=None, **changes) -> PackingSlipData:
    lines = lines or [
        PackingSlipLine(sku="TSHIRT-M-GREY", name="Organic cotton T-shirt, grey, M", ordered_quantity=2,
                        shipped_quantity=2),
        PackingSlipLine(sku="MUG-BLUE", name="Stoneware mug, blue", ordered_quantity=1, shipped_quantity=0),
    ]
    return PackingSlipData(facility_name="Storefill Chicago Loop", facility_address=facility_address,
                           order_name="#1001", ordered_on=date(2025, 3, 1), ship_to=CUSTOMER, lines=lines, **changes)


def test_packing_slip_lists_every_sku_and_the_order(tmp_path):
    text = pdf_text(packing_slip_pdf(slip_data(note="Gift — leave at the back door")), tmp_path)

    for expected in ("TSHIRT-M-GREY", "MUG-BLUE", "Order #1001", "Zoë Müller", "Evanston",
                     "2 of 3 items in this shipment", "Gift — leave at the back door"):
        assert expected in text, expected


def test_packing_slip_is_letter_in_the_us_and_a4_in_germany(tmp_path):
    assert "(letter)" in pdf_info(packing_slip_pdf(slip_data()), tmp_path)
    assert "(A4)" in pdf_info(packing_slip_pdf(slip_data(facility_address=BERLIN_STORE)), tmp_path)
    assert "(letter)" in pdf_info(packing_slip_pdf(slip_data(dataclasses.replace(STORE, country="CA"))), tmp_path)


def test_packing_slip_with_many_long_lines_flows_onto_more_pages(tmp_path):
    lines = [PackingSlipLine(sku=f"SKU-{index:04d}", name=LONG * 5, ordered_quantity=1, shipped_quantity=1)
             for index in range(60)]

    pdf = packing_slip_pdf(slip_data(lines=lines))

    assert pdf_pages(pdf, tmp_path) > 1
    assert words_past_margins(pdf, tmp_path, margin=MARGIN) == []
    text = pdf_text(pdf, tmp_path)
    assert all(line.sku in text for line in lines)


# --- Pick sheet ---------------------------------------------------------------------------------


def pick_rows(count: int) -> list[PickSheetRow]:
    return [
        PickSheetRow(bin_location=f"A-{index // 10:02d}-{index % 10}", sku=f"SKU-{index:05d}",
                     name=f"Product {index}" + (" with a long descriptive name" * 8 if index % 50 == 0 else ""),
                     barcode=f"{4006381333931 + index}", quantity=index % 4 + 1, order_name=f"#{1000 + index // 3}",
                     tote=f"T{index % 5 + 1}")
        for index in range(count)
    ]


def pick_data(rows, **changes) -> PickSheetData:
    return PickSheetData(facility_name="Storefill Chicago Loop", title="Wave 12 morning", pickers=["Ana Pérez"],
                         printed_at=datetime(2025, 3, 3, 9, 15, tzinfo=CHICAGO), rows=rows, **changes)


def test_pick_sheet_with_300_rows_has_every_sku_in_order_on_numbered_pages(tmp_path):
    rows = pick_rows(300)

    pdf = pick_sheet_pdf(pick_data(rows))

    pages = pdf_pages(pdf, tmp_path)
    assert pages > 3
    text = pdf_text(pdf, tmp_path)
    positions = [text.index(row.sku) for row in rows]
    assert positions == sorted(positions)
    page_texts = text.split("\f")[:pages]
    for number, page in enumerate(page_texts, start=1):
        assert f"page {number} of {pages}" in page
        assert "Wave 12 morning" in page and "Bin" in page and "Qty" in page  # header repeats
    assert "300 lines, 750 units" in text
    assert words_past_margins(pdf, tmp_path, margin=MARGIN) == []


def test_pick_sheet_shows_pickers_and_local_print_time(tmp_path):
    text = pdf_text(pick_sheet_pdf(pick_data(pick_rows(3))), tmp_path)

    assert "Picker: Ana Pérez" in text
    assert "03 Mar 2025 09:15 CST" in text


def test_pick_sheet_paper_follows_the_facility_country(tmp_path):
    assert "(letter)" in pdf_info(pick_sheet_pdf(pick_data(pick_rows(3))), tmp_path)
    assert "(A4)" in pdf_info(pick_sheet_pdf(pick_data(pick_rows(3), facility_country="DE")), tmp_path)


# --- Carrier manifest ---------------------------------------------------------------------------


def manifest_data(count: int) -> ManifestData:
    rows = [ManifestRow(tracking_number=f"SF{index:08d}0US", order_name=f"#{1000 + index}", weight_grams=450 + index,
                        service_name="Ground, 3–5 days") for index in range(1, count + 1)]
    return ManifestData(facility_name="Storefill Chicago Loop", facility_address=STORE, carrier_name="Storefill Post",
                        printed_at=datetime(2025, 3, 3, 16, 5, tzinfo=CHICAGO), rows=rows)


def test_manifest_lists_every_parcel_with_totals_and_signature_lines(tmp_path):
    data = manifest_data(45)  # 45 x 450 g + (1 + ... + 45) g = 21,285 g

    pdf = carrier_manifest_pdf(data)

    text = pdf_text(pdf, tmp_path)
    assert all(row.tracking_number in text for row in data.rows)
    assert "45 parcels, total weight 21.285 kg" in text
    assert "Total: 45 parcels" in text
    for expected in ("Driver", "Store associate", "name", "signature", "time", "Storefill Post"):
        assert expected in text, expected
    assert pdf_pages(pdf, tmp_path) > 1
    assert words_past_margins(pdf, tmp_path, margin=MARGIN) == []


def test_manifest_without_parcels_still_renders(tmp_path):
    text = pdf_text(carrier_manifest_pdf(manifest_data(0)), tmp_path)

    assert "0 parcels, total weight 0.000 kg" in text
