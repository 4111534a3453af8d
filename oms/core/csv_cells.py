"""CSV cells a spreadsheet will not run: a text cell starting with =, +, -, @, a tab or a carriage return is a
formula to Excel and its kin ("CSV injection"), so it is written with a leading apostrophe. Numbers stay as
they are ("-3", "+1.5"): they are data, and the apostrophe would change what an ERP reads."""

import re

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?")


def csv_cell_safe(value) -> str:
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_START) and not NUMBER.fullmatch(text):
        return "'" + text
    return text
