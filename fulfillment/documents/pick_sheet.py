"""The pick sheet: a pick job's lines in walking order, with tick boxes, for a store without tablets."""

import io

from reportlab.lib.enums import TA_CENTER
from reportlab.lib.units import mm
from reportlab.platypus import (
    Spacer,
    Table,
    TableStyle,
)

from fulfillment.documents.data import PickSheetData
from fulfillment.documents.pages import BASE_TABLE_STYLE, TickBox, _document, _numbered_canvas, _para, _style
from fulfillment.documents.text import BOLD, FONT, LIGHT, fit, paper_for, safe_text, time_text

# --- Pick sheet ---------------------------------------------------------------------------------


def pick_sheet_pdf(data: PickSheetData) -> bytes:
    """A paper pick list for one or more pick jobs: rows in walking order, a box to tick, page n of N."""
    buffer = io.BytesIO()
    pagesize = paper_for(data.facility_country)
    doc = _document(buffer, pagesize, data.title, top_margin=30 * mm,
                    on_page=lambda canv, document: page_header(canv, document))
    cell = _style("cell", 8.5, leading=10)
    bold = _style("bold", 8.5, BOLD, leading=10)
    quantity = _style("quantity", 12, BOLD, leading=14, alignment=TA_CENTER)

    pickers = ", ".join(safe_text(name) for name in data.pickers) or "unassigned"
    header_lines = (
        fit(data.title, BOLD, 14, doc.width * 0.62, 10),
        fit(data.facility_name, FONT, 9, doc.width * 0.62),
    )
    header_right = (
        fit(f"Printed {time_text(data.printed_at)}", FONT, 8.5, doc.width * 0.36),
        fit(f"{'Pickers' if len(data.pickers) > 1 else 'Picker'}: {pickers}", FONT, 8.5, doc.width * 0.36),
    )

    def page_header(canv, document):
        canv.saveState()
        top = pagesize[1] - 15 * mm
        (title, title_size), (facility, _) = header_lines
        canv.setFont(BOLD, title_size)
        canv.drawString(document.leftMargin, top - title_size, title)
        canv.setFont(FONT, 9)
        canv.drawString(document.leftMargin, top - title_size - 13, facility)
        right = document.leftMargin + document.width
        canv.setFont(FONT, 8.5)
        for index, (text, _size) in enumerate(header_right):
            canv.drawRightString(right, top - 10 - index * 12, text)
        canv.setLineWidth(1)
        canv.line(document.leftMargin, top - 34, right, top - 34)
        canv.restoreState()

    fixed = {"tick": 22, "bin": 54, "sku": 70, "barcode": 70, "qty": 34, "order": 56, "tote": 42}
    name_width = doc.width - sum(fixed.values())
    rows = [["", "Bin", "SKU", "Item", "Barcode", "Qty", "Order", "Tote"]]
    for row in data.rows:
        rows.append([
            TickBox(11), _para(row.bin_location, bold, 40), _para(row.sku, cell, 60), _para(row.name, cell, 160),
            _para(row.barcode, cell, 40), _para(row.quantity, quantity), _para(row.order_name, cell, 40),
            _para(row.tote, cell, 30),
        ])
    widths = [fixed["tick"], fixed["bin"], fixed["sku"], name_width, fixed["barcode"], fixed["qty"], fixed["order"],
              fixed["tote"]]
    table = Table(rows, colWidths=widths, repeatRows=1)
    style = [*BASE_TABLE_STYLE, ("ALIGN", (5, 0), (5, 0), "CENTER"), ("ALIGN", (0, 1), (0, -1), "CENTER")]
    style += [("BACKGROUND", (0, row), (-1, row), LIGHT) for row in range(2, len(rows), 2)]
    table.setStyle(TableStyle(style))

    units = sum(row.quantity for row in data.rows)
    summary = _para(f"{len(data.rows)} lines, {units} units", _style("summary", 9, BOLD))
    story = [table if data.rows else _para("Nothing to pick.", cell), Spacer(1, 8), summary]
    doc.build(story, canvasmaker=_numbered_canvas(safe_text(f"{data.facility_name} · {data.title}")))
    return buffer.getvalue()
