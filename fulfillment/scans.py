"""What a scanner (or a keyboard) sent to a scan field, cleaned once for every scan: the surrounding spaces go, and
so does a NUL, which no barcode holds and PostgreSQL refuses in a query (a 500 instead of "not found")."""


def scanned(text: str | None) -> str:
    return (text or "").replace("\x00", "").strip()
