"""The packing slip that goes into the parcel: the order, what is in this shipment, the return note."""

import io

from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.units import mm
from reportlab.platypus import (
    Spacer,
    Table,
    TableStyle,
)

from fulfillment.documents.data import PackingSlipData
from fulfillment.documents.pages import (
    BASE_TABLE_STYLE,
    NO_PADDING,
    _address_para,
    _document,
    _numbered_canvas,
    _para,
    _qr,
    _style,
)
from fulfillment.documents.text import BOLD, GREY, LIGHT, date_text, paper_for, safe_text

# --- Packing slip -------------------------------------------------------------------------------


def packing_slip_pdf(data: PackingSlipData) -> bytes:
    """The slip in the parcel: who sent it, what was ordered and what is in this shipment, a QR of the order."""
    buffer = io.BytesIO()
    doc = _document(buffer, paper_for(data.facility_address.country), f"Packing slip {data.order_name}")
    body = _style("body", 9)
    small = _style("small", 8, textColor=GREY)
    heading = _style("heading", 18, BOLD, leading=22)
    caption = _style("caption", 7, BOLD, textColor=GREY)
    cell = _style("cell", 9)
    number = _style("number", 10, BOLD, alignment=TA_RIGHT)

    qr_size = 28 * mm
    info = [
        [_para(data.facility_name, _style("facility", 12, BOLD, leading=15), 80)],
        [_address_para(data.facility_address, small, skip_name=data.facility_name)],
        [Spacer(1, 14)],
        [_para("Packing slip", heading)],
        [_para(f"Order {data.order_name}", _style("order", 12, BOLD, leading=15), 60)],
        [_para(f"Ordered {date_text(data.ordered_on)}", body)],
    ]
    info_table = Table(info, colWidths=[doc.width - qr_size - 10],
                       style=[*NO_PADDING, ("BOTTOMPADDING", (0, 0), (-1, -1), 3)])
    header = Table(
        [[info_table, _qr(data.order_name, qr_size)]],
        colWidths=[doc.width - qr_size, qr_size],
        style=[("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0),
               ("RIGHTPADDING", (0, 0), (-1, -1), 0)],
    )
    ship_to = Table(
        [[_para("SHIP TO", caption)], [_address_para(data.ship_to, _style("shipto", 10, leading=13))]],
        colWidths=[doc.width / 2], hAlign="LEFT",
        style=[*NO_PADDING, ("BOTTOMPADDING", (0, 0), (-1, -1), 2)],
    )

    rows = [["SKU", "Item", "Ordered", "Shipped"]]
    short = []
    for index, line in enumerate(data.lines, start=1):
        rows.append([_para(line.sku, cell, 60), _para(line.name, cell), _para(line.ordered_quantity, number),
                     _para(line.shipped_quantity, number)])
        if line.shipped_quantity < line.ordered_quantity:
            short.append(index)
    if not data.lines:
        rows.append(["", _para("No items", cell), "", ""])
    quantity_width = 52
    sku_width = min(120, doc.width * 0.24)
    table = Table(rows, colWidths=[sku_width, doc.width - sku_width - 2 * quantity_width, quantity_width,
                                   quantity_width], repeatRows=1)
    style = [*BASE_TABLE_STYLE, ("ALIGN", (2, 0), (-1, 0), "RIGHT")]
    style += [("BACKGROUND", (0, row), (-1, row), LIGHT) for row in short]
    table.setStyle(TableStyle(style))

    story = [header, Spacer(1, 8), ship_to, Spacer(1, 12), table]
    total_ordered = sum(line.ordered_quantity for line in data.lines)
    total_shipped = sum(line.shipped_quantity for line in data.lines)
    story += [Spacer(1, 6), _para(f"{total_shipped} of {total_ordered} items in this shipment.", body)]
    if short:
        story.append(_para("Shaded lines are not complete in this shipment.", small))
    if data.note.strip():
        story += [Spacer(1, 10), _para("NOTE", caption), _para(data.note, body, 1500)]
    footer = f"{data.facility_name} · packing slip {data.order_name}"
    doc.build(story, canvasmaker=_numbered_canvas(safe_text(footer)))
    return buffer.getvalue()
