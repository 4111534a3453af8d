"""Page furniture shared by the flowing documents (packing slip, pick sheet, manifest): numbered pages,
the document template, paragraph styles, QR codes, tick boxes and the tables' base style."""

from xml.sax.saxutils import escape

from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    PageTemplate,
    Paragraph,
)

from fulfillment.carriers.base import Address
from fulfillment.documents.text import BOLD, FONT, GREY, RULE, address_lines, clip, fit, safe_text

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
