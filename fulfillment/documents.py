"""The printed documents of a store: shipping label, packing slip, pick sheet and carrier manifest (PDF bytes).

Callers build the frozen *Data dataclasses below; nothing here touches the database, so a document
renders the same in a view, a task or a test. Text uses the standard Helvetica fonts (never
embedded, always extractable); characters those fonts cannot show are transliterated or replaced,
and every field that could be long is shrunk, wrapped or cut to stay on the page.
"""

import datetime
import io
import unicodedata
from dataclasses import dataclass
from xml.sax.saxutils import escape

from reportlab.graphics.barcode.code128 import Code128
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4, LETTER
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import inch, mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen import canvas
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    KeepTogether,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from fulfillment.carriers.base import Address

LABEL_SIZE = (4 * inch, 6 * inch)  # 288 x 432 pt
LETTER_COUNTRIES = {"US", "CA"}
FONT, BOLD = "Helvetica", "Helvetica-Bold"
GREY = colors.HexColor("#6b6b6b")
LIGHT = colors.HexColor("#f0f0f0")
RULE = colors.HexColor("#9a9a9a")


# --- Data ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LabelData:
    sender: Address
    recipient: Address
    carrier_name: str
    service_name: str
    weight_grams: int
    tracking_number: str
    reference: str  # the order name
    parcel_index: int  # 1-based
    parcel_count: int
    shipped_on: datetime.date
    is_return: bool = False  # the caller passes the addresses already swapped


@dataclass(frozen=True)
class PackingSlipLine:
    sku: str
    name: str
    ordered_quantity: int
    shipped_quantity: int


@dataclass(frozen=True)
class PackingSlipData:
    facility_name: str
    facility_address: Address
    order_name: str
    ordered_on: datetime.date
    ship_to: Address
    lines: list[PackingSlipLine]
    note: str = ""


@dataclass(frozen=True)
class PickSheetRow:
    bin_location: str
    sku: str
    name: str
    barcode: str
    quantity: int
    order_name: str
    tote: str


@dataclass(frozen=True)
class PickSheetData:
    facility_name: str
    title: str
    pickers: list[str]
    printed_at: datetime.datetime  # already in the facility's local time
    rows: list[PickSheetRow]
    # The facility's country chooses the paper: Letter for US and CA (and when unknown), A4 elsewhere.
    facility_country: str = ""


@dataclass(frozen=True)
class ManifestRow:
    tracking_number: str
    order_name: str
    weight_grams: int
    service_name: str


@dataclass(frozen=True)
class ManifestData:
    facility_name: str
    facility_address: Address
    carrier_name: str
    printed_at: datetime.datetime  # already in the facility's local time
    rows: list[ManifestRow]


# --- Text helpers -------------------------------------------------------------------------------

# Letters NFKD does not decompose into a base letter the fonts have.
_TRANSLITERATE = str.maketrans({
    "Ł": "L", "ł": "l", "Đ": "D", "đ": "d", "Ħ": "H", "ħ": "h", "ı": "i", "Ŀ": "L", "ŀ": "l",
    "Ŧ": "T", "ŧ": "t", "ẞ": "SS", "Ə": "E", "ə": "e", "‐": "-", "‑": "-", "−": "-", "\u00a0": " ",
})


def safe_text(value) -> str:
    """`value` as text the standard fonts can draw (their encoding is cp1252): others are transliterated or '?'."""
    text = " ".join(str(value if value is not None else "").split())  # no newlines or tabs
    try:
        text.encode("cp1252")
        return text
    except UnicodeEncodeError:
        pass
    out = []
    for char in text.translate(_TRANSLITERATE):
        try:
            char.encode("cp1252")
            out.append(char)
            continue
        except UnicodeEncodeError:
            pass
        base = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
        try:
            base.encode("cp1252")
            out.append(base or "?")
        except UnicodeEncodeError:
            out.append("?")
    return "".join(out)


def clip(value, limit: int) -> str:
    """Safe text of at most `limit` characters (a cell taller than a page cannot be laid out)."""
    text = safe_text(value)
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def fit(text: str, font: str, size: float, width: float, min_size: float | None = None) -> tuple[str, float]:
    """Shrink the font down to `min_size` to fit `width`, then cut the text with an ellipsis."""
    text = safe_text(text)
    min_size = min_size or size
    while size > min_size and stringWidth(text, font, size) > width:
        size -= 0.5
    if stringWidth(text, font, size) <= width:
        return text, size
    while text and stringWidth(text + "…", font, size) > width:
        text = text[:-1]
    return text.rstrip() + "…", size


def kilograms(grams: int) -> str:
    """Exact kilograms, as a scale shows them: 1250 → '1.250 kg' (columns line up, totals add up)."""
    whole, rest = divmod(int(grams), 1000)
    return f"{whole}.{rest:03d} kg"


def date_text(value: datetime.date) -> str:
    return value.strftime("%d %b %Y")  # 03 Mar 2025: unambiguous in every country


def time_text(value: datetime.datetime) -> str:
    zone = value.tzname() if value.tzinfo else None
    return value.strftime("%d %b %Y %H:%M") + (f" {zone}" if zone else "")


def address_lines(address: Address) -> list[str]:
    """Name, company, street lines, city line and country, empty ones left out."""
    country = address.country.upper()
    province = address.province
    if country in {"US", "CA", "AU"}:
        city = f"{address.city}, {province} {address.postal_code}".replace(",  ", ", ").strip(" ,")
    elif country in {"GB", "IE"}:
        city = " ".join(part for part in (address.city, address.postal_code) if part)
    else:
        city = " ".join(part for part in (address.postal_code, address.city, province) if part)
    lines = [address.name, address.company, address.address1, address.address2, city, country]
    return [safe_text(line) for line in lines if line and line.strip()]


def paper_for(country: str):
    return LETTER if (country or "US").upper() in LETTER_COUNTRIES else A4


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


# --- Page furniture shared by the flowing documents ----------------------------------------------


def _numbered_canvas(footer_left: str):
    """A canvas class that writes 'page n of N' on every page (it knows N only when the document ends)."""

    class NumberedCanvas(canvas.Canvas):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._pages: list[dict] = []

        def showPage(self):  # noqa: N802 - reportlab's name
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self):
            total = len(self._pages)
            for number, state in enumerate(self._pages, start=1):
                self.__dict__.update(state)
                page_width = self._pagesize[0]
                self.setFont(FONT, 8)
                self.setFillColor(GREY)
                self.drawString(15 * mm, 10 * mm, fit(footer_left, FONT, 8, page_width - 70 * mm)[0])
                self.drawRightString(page_width - 15 * mm, 10 * mm, f"page {number} of {total}")
                super().showPage()
            super().save()

    return NumberedCanvas


def _document(buffer, pagesize, title: str, top_margin: float = 15 * mm, on_page=None) -> BaseDocTemplate:
    """A one-frame document; the frame has no padding, so a table of `doc.width` sits exactly in the margins."""
    doc = BaseDocTemplate(
        buffer, pagesize=pagesize, title=safe_text(title), author="Storefill", invariant=True,
        leftMargin=15 * mm, rightMargin=15 * mm, topMargin=top_margin, bottomMargin=18 * mm,
    )
    frame = Frame(doc.leftMargin, doc.bottomMargin, doc.width, doc.height, id="body",
                  leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0)
    doc.addPageTemplates([PageTemplate(id="page", frames=[frame], onPage=on_page or (lambda canv, document: None))])
    return doc


def _style(name: str, size: float = 9, font: str = FONT, leading: float | None = None, **kwargs) -> ParagraphStyle:
    return ParagraphStyle(name, fontName=font, fontSize=size, leading=leading or size * 1.2, **kwargs)


def _para(value, style: ParagraphStyle, limit: int = 300) -> Paragraph:
    return Paragraph(escape(clip(value, limit)), style)


def _address_para(address: Address, style: ParagraphStyle, skip_name: str = "") -> Paragraph:
    """The address, one line each; `skip_name` leaves out a name already printed above it (the facility's)."""
    lines = address_lines(address)
    if skip_name and lines and lines[0] == safe_text(skip_name):
        lines = lines[1:]
    return Paragraph("<br/>".join(escape(clip(line, 120)) for line in lines), style)


def _qr(value: str, size: float) -> Drawing:
    widget = QrCodeWidget(safe_text(value))
    left, bottom, right, top = widget.getBounds()
    drawing = Drawing(size, size, transform=[size / (right - left), 0, 0, size / (top - bottom), 0, 0])
    drawing.add(widget)
    return drawing


class TickBox(Flowable):
    """An empty square to tick by hand."""

    def __init__(self, size: float = 10):
        super().__init__()
        self.size = size

    def wrap(self, available_width, available_height):
        return self.size, self.size

    def draw(self):
        self.canv.setLineWidth(0.8)
        self.canv.rect(0, 0, self.size, self.size)


NO_PADDING = [(side, (0, 0), (-1, -1), 0) for side in ("LEFTPADDING", "RIGHTPADDING", "TOPPADDING", "BOTTOMPADDING")]

BASE_TABLE_STYLE = [
    ("FONTNAME", (0, 0), (-1, 0), BOLD),
    ("FONTSIZE", (0, 0), (-1, 0), 8),
    ("TEXTCOLOR", (0, 0), (-1, 0), colors.white),
    ("BACKGROUND", (0, 0), (-1, 0), colors.black),
    ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
    ("TOPPADDING", (0, 0), (-1, -1), 3),
    ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
    ("LEFTPADDING", (0, 0), (-1, -1), 4),
    ("RIGHTPADDING", (0, 0), (-1, -1), 4),
    ("LINEBELOW", (0, 1), (-1, -1), 0.4, RULE),
]


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
    story = [info, Spacer(1, 10), title, summary, Spacer(1, 10), table, closing]
    footer = f"{data.facility_name} · {data.carrier_name} manifest · {time_text(data.printed_at)}"
    doc.build(story, canvasmaker=_numbered_canvas(safe_text(footer)))
    return buffer.getvalue()
