"""The carrier manifest: today's parcels handed to one carrier, for the driver to sign."""

import io

from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.platypus import (
    KeepTogether,
    Spacer,
    Table,
    TableStyle,
)

from fulfillment.documents.data import ManifestData
from fulfillment.documents.pages import BASE_TABLE_STYLE, _address_para, _document, _numbered_canvas, _para, _style
from fulfillment.documents.text import BOLD, FONT, GREY, kilograms, paper_for, safe_text, time_text

# --- Carrier manifest ---------------------------------------------------------------------------


def carrier_manifest_pdf(data: ManifestData) -> bytes:
    """The list the driver signs at pickup: every parcel handed over, the totals, and both signatures."""
    buffer = io.BytesIO()
    doc = _document(buffer, paper_for(data.facility_address.country), f"{data.carrier_name} manifest")
    body = _style("body", 9)
    small = _style("small", 8, textColor=GREY)
    cell = _style("cell", 9)
    mono = _style("mono", 9.5, BOLD)
    right = _style("right", 9, alignment=TA_RIGHT)
    right_bold = _style("rightbold", 9, BOLD, alignment=TA_RIGHT)
    counter = _style("counter", 8, textColor=GREY)

    total_grams = sum(row.weight_grams for row in data.rows)
    count = len(data.rows)
    parcels = f"{count} parcel{'s' if count != 1 else ''}"
    info = Table(
        [
            [_para(data.facility_name, _style("facility", 12, BOLD, leading=15), 80),
             _para(data.carrier_name, _style("carrier", 12, BOLD, leading=15, alignment=TA_RIGHT), 60)],
            [_address_para(data.facility_address, small, skip_name=data.facility_name),
             _para(f"Printed {time_text(data.printed_at)}", _style("printed", 9, alignment=TA_RIGHT))],
        ],
        colWidths=[doc.width * 0.55, doc.width * 0.45],
        style=[("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0),
               ("RIGHTPADDING", (0, 0), (-1, -1), 0)],
    )
    title = _para("Carrier manifest", _style("title", 18, BOLD, leading=22))
    summary = _para(f"{parcels}, total weight {kilograms(total_grams)}", _style("summary", 11, BOLD))

    rows = [["#", "Tracking number", "Order", "Service", "Weight"]]
    for index, row in enumerate(data.rows, start=1):
        rows.append([_para(index, counter), _para(row.tracking_number, mono, 40), _para(row.order_name, cell, 40),
                     _para(row.service_name, cell, 60), _para(kilograms(row.weight_grams), right)])
    rows.append(["", _para(f"Total: {parcels}", _style("total", 9, BOLD)), "", "",
                 _para(kilograms(total_grams), right_bold)])
    widths = [26, 130, 96, doc.width - 26 - 130 - 96 - 70, 70]
    table = Table(rows, colWidths=widths, repeatRows=1)
    table.setStyle(TableStyle([
        *BASE_TABLE_STYLE,
        ("ALIGN", (4, 0), (4, 0), "RIGHT"),
        ("LINEABOVE", (0, -1), (-1, -1), 1.2, colors.black),
        ("SPAN", (1, -1), (3, -1)),
    ]))

    signature_rows = []
    for role in ("Driver", "Store associate"):
        signature_rows.append([_para(role, _style(f"role-{role}", 10, BOLD)), "", "", ""])
        signature_rows.append(["", "name", "signature", "time"])
    signatures = Table(
        signature_rows,
        colWidths=[doc.width * 0.2, doc.width * 0.32, doc.width * 0.32, doc.width * 0.16],
        rowHeights=[26, 12] * 2,
        style=[
            ("FONTNAME", (1, 0), (-1, -1), FONT),
            ("FONTSIZE", (1, 0), (-1, -1), 7),
            ("TEXTCOLOR", (1, 0), (-1, -1), GREY),
            ("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
            ("LINEBELOW", (1, 0), (1, 0), 0.8, colors.black),
            ("LINEBELOW", (2, 0), (2, 0), 0.8, colors.black),
            ("LINEBELOW", (3, 0), (3, 0), 0.8, colors.black),
            ("LINEBELOW", (1, 2), (1, 2), 0.8, colors.black),
            ("LINEBELOW", (2, 2), (2, 2), 0.8, colors.black),
            ("LINEBELOW", (3, 2), (3, 2), 0.8, colors.black),
            ("LEFTPADDING", (0, 0), (0, -1), 0),
            ("RIGHTPADDING", (1, 0), (-1, -1), 12),
            ("VALIGN", (1, 1), (-1, 1), "TOP"),
            ("VALIGN", (1, 3), (-1, 3), "TOP"),
        ],
    )
    closing = KeepTogether([
        Spacer(1, 18),
        _para(f"Received {parcels} ({kilograms(total_grams)}) in good order.", body),
        Spacer(1, 6),
        signatures,
    ])
    story = [info, Spacer(1, 10), title, summary]
    if data.scan_forms:  # the carrier's own end-of-day forms of these parcels (EasyPost scan forms)
        story.append(_para(f"Carrier scan form{'s' if len(data.scan_forms) > 1 else ''}: "
                           + ", ".join(data.scan_forms), _style("scanforms", 10)))
    story += [Spacer(1, 10), table, closing]
    footer = f"{data.facility_name} · {data.carrier_name} manifest · {time_text(data.printed_at)}"
    doc.build(story, canvasmaker=_numbered_canvas(safe_text(footer)))
    return buffer.getvalue()
