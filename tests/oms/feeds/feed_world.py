"""Helpers of the feed tests: import a CSV given as text, read stock back."""

import io

from oms.feeds.inventory import inventory_feed_import
from oms.models import FeedFile
from stores.models import StockLevel

HEADER = "facility,sku,on_hand,counted_at\n"


def import_text(text: str | bytes, *, name: str = "inventory.csv", now=None, actor=None):
    data = text.encode() if isinstance(text, str) else text
    return inventory_feed_import(io.BytesIO(data), name=name, source=FeedFile.Source.UPLOAD, actor=actor, now=now)


def on_hand(facility, product) -> int:
    return StockLevel.objects.get(facility=facility, product=product).on_hand


def iso(moment) -> str:
    return moment.isoformat(timespec="seconds")
