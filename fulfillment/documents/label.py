"""The 4×6 in shipping label: addresses, service, weight, the tracking number as Code 128 and a QR code."""

import io

from reportlab.graphics.barcode.code128 import Code128
from reportlab.lib import colors
from reportlab.pdfgen import canvas

from fulfillment.documents.data import LabelData
from fulfillment.documents.text import BOLD, FONT, GREY, LABEL_SIZE, address_lines, date_text, fit, kilograms, safe_text

# --- Shipping label -----------------------------------------------------------------------------


def shipping_label_pdf(data: LabelData) -> bytes:
    """A 4 x 6 inch thermal label: carrier, FROM, SHIP TO, parcel details and the Code 128 tracking barcode."""
    width, height = LABEL_SIZE
    margin = 8
    inner = width - 2 * margin
    buffer = io.BytesIO()
    c = canvas.Canvas(buffer, pagesize=LABEL_SIZE, invariant=True, pageCompression=1)
    c.setTitle(safe_text(f"{'Return label' if data.is_return else 'Label'} {data.tracking_number}"))
    c.setAuthor("Storefill")
    c.setLineWidth(1.2)
    c.rect(margin, margin, inner, height - 2 * margin)
    pad = 7
    text_width = inner - 2 * pad
    left = margin + pad
    y = height - margin

    # Carrier and service
    band = 40
    service_box = 96
    carrier, size = fit(data.carrier_name, BOLD, 16, inner - service_box - 2 * pad, 10)
    c.setFont(BOLD, size)
    c.drawString(left, y - band / 2 - size / 3, carrier)
    c.setFillColor(colors.black)
    c.rect(margin + inner - service_box, y - band, service_box, band, stroke=0, fill=1)
    c.setFillColor(colors.white)
    service, size = fit(data.service_name, BOLD, 11, service_box - 10, 6.5)
    c.setFont(BOLD, size)
    c.drawCentredString(margin + inner - service_box / 2, y - band / 2 - size / 3, service)
    c.setFillColor(colors.black)
    y -= band
    c.line(margin, y, margin + inner, y)

    if data.is_return:
        banner = 26
        c.rect(margin, y - banner, inner, banner, stroke=0, fill=1)
        c.setFillColor(colors.white)
        c.setFont(BOLD, 18)
        c.drawCentredString(width / 2, y - banner + 7.5, "RETURN")
        c.setFillColor(colors.black)
        y -= banner

    # FROM
    y -= 11
    c.setFont(BOLD, 6.5)
    c.drawString(left, y, "FROM")
    for line in address_lines(data.sender)[:6]:
        line, size = fit(line, FONT, 7.5, text_width - 2, 6)
        y -= 9
        c.setFont(FONT, size)
        c.drawString(left + 2, y, line)
    y -= 6
    c.line(margin, y, margin + inner, y)

    # SHIP TO
    y -= 12
    c.setFont(BOLD, 8)
    c.drawString(left, y, "SHIP TO")
    recipient = data.recipient
    rows = [
        (recipient.name, BOLD, 15),
        (recipient.company, FONT, 11),
        (recipient.address1, FONT, 12),
        (recipient.address2, FONT, 12),
    ]
    city_line, country = address_lines(recipient)[-2:]
    rows += [(city_line, BOLD, 13), (country, BOLD, 13)]
    y -= 3
    for text, font, size in rows:
        if not (text and text.strip()):
            continue
        text, size = fit(text, font, size, text_width - 6, size * 0.7)
        y -= size + 3
        c.setFont(font, size)
        c.drawString(left + 6, y, text)
    y -= 8
    c.line(margin, y, margin + inner, y)

    # Details: a 2 x 2 grid
    cell_height = 24
    details = [
        ("WEIGHT", kilograms(data.weight_grams)),
        ("PARCEL", f"Parcel {data.parcel_index} of {data.parcel_count}"),
        ("REFERENCE", data.reference),
        ("SHIPPED", date_text(data.shipped_on)),
    ]
    for index, (caption, value) in enumerate(details):
        column, row = index % 2, index // 2
        x = margin + column * inner / 2
        top = y - row * cell_height
        c.setFont(BOLD, 6)
        c.setFillColor(GREY)
        c.drawString(x + pad, top - 8, caption)
        c.setFillColor(colors.black)
        value, size = fit(value, BOLD, 10, inner / 2 - 2 * pad, 7)
        c.setFont(BOLD, size)
        c.drawString(x + pad, top - 19, value)
    c.line(width / 2, y, width / 2, y - 2 * cell_height)
    y -= 2 * cell_height
    c.line(margin, y, margin + inner, y)

    # Tracking barcode: as wide as fits, no wider than 1.6 pt per module
    bottom = margin + 8
    number = safe_text(data.tracking_number)
    c.setFont(BOLD, 6)
    c.setFillColor(GREY)
    c.drawString(left, y - 9, "TRACKING NUMBER")
    c.setFillColor(colors.black)
    text_size = 13
    room = y - 14 - bottom  # below the caption
    bar_height = max(30, min(80, room - text_size - 8))
    probe = Code128(number, barWidth=1, quiet=0)
    bar_width = min(1.6, (inner - 20) / probe.width)
    barcode = Code128(number, barWidth=bar_width, barHeight=bar_height, quiet=0)
    base = bottom + max(0, (room - bar_height - text_size - 8) / 2)  # the block centred in its room
    barcode.drawOn(c, (width - barcode.width) / 2, base + text_size + 6)
    number_text, size = fit(number, BOLD, text_size, inner - 10, 8)
    c.setFont(BOLD, size)
    c.drawCentredString(width / 2, base + 2, number_text)

    c.showPage()
    c.save()
    return buffer.getvalue()
