"""Text that fits the page: the fonts and colours, transliteration to what Helvetica can show, shrinking,
clipping and the date, weight and address lines every document uses."""

import datetime
import unicodedata

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, LETTER
from reportlab.lib.units import inch
from reportlab.pdfbase.pdfmetrics import stringWidth

from fulfillment.carriers.base import Address

LABEL_SIZE = (4 * inch, 6 * inch)  # 288 x 432 pt
LETTER_COUNTRIES = {"US", "CA"}
FONT, BOLD = "Helvetica", "Helvetica-Bold"
GREY = colors.HexColor("#6b6b6b")
LIGHT = colors.HexColor("#f0f0f0")
RULE = colors.HexColor("#9a9a9a")


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
