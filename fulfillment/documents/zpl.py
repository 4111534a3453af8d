"""The 4×6 in shipping label in ZPL II, for thermal printers at 203 dpi (812 × 1218 dots): the same blocks as the
PDF label — carrier and service, FROM, SHIP TO, parcel details — and the tracking number as a Code 128 barcode.

Text goes through `^FH` hex escapes, so a name holding `^` or `~` (ZPL's command characters) prints as written
instead of starting a command; `^CI28` makes the printer read UTF-8.
"""

from fulfillment.documents.data import LabelData
from fulfillment.documents.text import address_lines, clip, date_text, kilograms

DOTS_WIDE, DOTS_HIGH = 812, 1218  # 4 × 6 in at 203 dpi
MARGIN = 30


def _field(text: str) -> str:
    """Field data with ZPL's command characters (and the escape character itself) hex-escaped under ^FH."""
    escaped = "".join(f"_{ord(char):02X}" if char in "^~_" else char for char in str(text))
    return f"^FH^FD{escaped}^FS"


def _text(x: int, y: int, text: str, *, height: int, bold: bool = False, width: int = DOTS_WIDE - 2 * MARGIN) -> str:
    font = f"^A0N,{height},{height if bold else int(height * 0.85)}"
    return f"^FO{x},{y}{font}^FB{width},1,0,L,0{_field(text)}"


def shipping_label_zpl(data: LabelData) -> bytes:
    """The label as ZPL II commands (UTF-8 bytes), one label per call."""
    commands = ["^XA", "^CI28", f"^PW{DOTS_WIDE}", f"^LL{DOTS_HIGH}", "^LH0,0"]
    y = MARGIN
    # Carrier band: the carrier on the left, the service reversed (white on black) on the right.
    commands.append(_text(MARGIN, y + 18, clip(data.carrier_name, 28), height=46, bold=True, width=480))
    commands.append(f"^FO{DOTS_WIDE - MARGIN - 260},{y}^GB260,90,90^FS")
    commands.append(f"^FO{DOTS_WIDE - MARGIN - 250},{y + 28}^A0N,34,30^FR^FB240,1,0,C,0"
                    f"{_field(clip(data.service_name, 18))}")
    y += 110
    if data.is_return:
        commands.append(f"^FO{MARGIN},{y}^GB{DOTS_WIDE - 2 * MARGIN},60,60^FS")
        commands.append(f"^FO{MARGIN},{y + 12}^A0N,44,44^FR^FB{DOTS_WIDE - 2 * MARGIN},1,0,C,0{_field('RETURN')}")
        y += 80
    commands.append(_text(MARGIN, y, "FROM", height=24, bold=True))
    y += 30
    for line in address_lines(data.sender)[:6]:
        commands.append(_text(MARGIN + 10, y, clip(line, 48), height=26))
        y += 30
    commands.append(f"^FO{MARGIN},{y + 6}^GB{DOTS_WIDE - 2 * MARGIN},3,3^FS")
    y += 24
    commands.append(_text(MARGIN, y, "SHIP TO", height=28, bold=True))
    y += 38
    recipient = address_lines(data.recipient)
    for index, line in enumerate(recipient[:7]):
        last = index >= len(recipient) - 2  # city line and country: bold, like the PDF
        commands.append(_text(MARGIN + 10, y, clip(line, 32), height=44 if index == 0 or last else 38,
                              bold=index == 0 or last))
        y += 50
    commands.append(f"^FO{MARGIN},{y + 6}^GB{DOTS_WIDE - 2 * MARGIN},3,3^FS")
    y += 24
    details = (("WEIGHT", kilograms(data.weight_grams)), ("PARCEL", f"{data.parcel_index} of {data.parcel_count}"),
               ("ORDER", clip(data.reference, 18)), ("SHIPPED", date_text(data.shipped_on)))
    half = (DOTS_WIDE - 2 * MARGIN) // 2
    for index, (caption, value) in enumerate(details):
        x = MARGIN + (index % 2) * half
        row_y = y + (index // 2) * 70
        commands.append(_text(x, row_y, caption, height=22, bold=True, width=half - 10))
        commands.append(_text(x, row_y + 26, value, height=34, bold=True, width=half - 10))
    y += 150
    # The tracking number: Code 128 across the width, its digits printed under it (^BC's interpretation line).
    commands.append(_text(MARGIN, y, "TRACKING NUMBER", height=22, bold=True))
    y += 34
    commands.append(f"^FO{MARGIN + 20},{y}^BY3,3,180^BCN,180,Y,N,N{_field(data.tracking_number)}")
    commands.append("^PQ1")
    commands.append("^XZ")
    return ("\n".join(commands) + "\n").encode("utf-8")
