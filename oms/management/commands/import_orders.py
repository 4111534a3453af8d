"""Import Shopify orders from a file (a JSON list, or one JSON object per line) as if the shop sent them."""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from oms.shop.importer import shopify_webhook_receive
from oms.shop.payload import TOPIC_CREATE, ShopPayloadError


def order_rows(text: str) -> list[tuple[int, object]]:
    """(row number, parsed order or the JSON error) for each order in the file.

    A whole-file JSON list numbers rows from 1; a JSON-lines file uses line numbers, so an error
    points at the line to fix. One JSON object for the whole file is one row.
    """
    try:
        document = json.loads(text)
    except ValueError:
        document = None
    if isinstance(document, list):
        return list(enumerate(document, start=1))
    if isinstance(document, dict):
        return [(1, document)]
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rows.append((number, json.loads(line)))
        except ValueError as exc:
            rows.append((number, exc))
    return rows


class Command(BaseCommand):
    help = "Import Shopify orders from a JSON file (a list, or one order per line), like orders/create webhooks."

    def add_arguments(self, parser):
        parser.add_argument("file", help="Path to the JSON file.")

    def handle(self, *args, **options):
        path = Path(options["file"])
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"cannot read {path}: {exc}") from exc

        counts = {"created": 0, "duplicate": 0, "held": 0, "errors": 0}
        for number, row in order_rows(text):
            if isinstance(row, ValueError):
                message = f"not JSON ({row})"
            elif not isinstance(row, dict):
                message = "not a JSON object"
            else:
                try:
                    result = shopify_webhook_receive(topic=TOPIC_CREATE, payload=row, webhook_id=None)
                except ShopPayloadError as exc:
                    message = str(exc)
                else:
                    counts[result.outcome] = counts.get(result.outcome, 0) + 1
                    counts["held"] += result.outcome == "created" and result.held
                    continue
            counts["errors"] += 1
            self.stderr.write(f"row {number}: {message}")

        self.stdout.write(
            f"created {counts['created']}, duplicate {counts['duplicate']}, held {counts['held']}, "
            f"errors {counts['errors']}"
        )
