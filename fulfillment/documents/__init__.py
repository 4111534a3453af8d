"""The printed documents of a store: shipping label, packing slip, pick sheet and carrier manifest (PDF bytes).

Callers build the frozen *Data dataclasses below; nothing here touches the database, so a document
renders the same in a view, a task or a test. Text uses the standard Helvetica fonts (never
embedded, always extractable); characters those fonts cannot show are transliterated or replaced,
and every field that could be long is shrunk, wrapped or cut to stay on the page.

One module per document; the package re-exports what callers use."""

from fulfillment.documents.data import (
    LabelData,
    ManifestData,
    ManifestRow,
    PackingSlipData,
    PackingSlipLine,
    PickSheetData,
    PickSheetRow,
)
from fulfillment.documents.label import shipping_label_pdf
from fulfillment.documents.manifest import carrier_manifest_pdf
from fulfillment.documents.packing_slip import packing_slip_pdf
from fulfillment.documents.pick_sheet import pick_sheet_pdf
from fulfillment.documents.zpl import shipping_label_zpl

__all__ = [
    "LabelData",
    "PackingSlipLine",
    "PackingSlipData",
    "PickSheetRow",
    "PickSheetData",
    "ManifestRow",
    "ManifestData",
    "shipping_label_pdf",
    "packing_slip_pdf",
    "pick_sheet_pdf",
    "carrier_manifest_pdf",
    "shipping_label_zpl",
]
