"""Import inventory count files (CSV: facility, sku, on_hand, counted_at, optional bin; see docs/feeds.md)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from oms.feeds.files import feed_report_lines
from oms.feeds.inventory import inventory_feed_import
from oms.models import FeedFile

SHOWN_PROBLEMS = 10


class Command(BaseCommand):
    help = ("Import inventory count CSV files: one report line per file, then its first rejected rows. "
            "Exits 1 when a file is refused as a whole.")

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", help="CSV files (header: facility,sku,on_hand,counted_at[,bin]).")

    def handle(self, *args, **options):
        refused = []
        for name in options["files"]:
            path = Path(name)
            try:
                with open(path, "rb") as file:
                    result = inventory_feed_import(file, name=path.name, source=FeedFile.Source.COMMAND)
            except OSError as exc:
                raise CommandError(f"cannot read {path}: {exc}") from exc
            for line in feed_report_lines(result, name=path.name, shown=SHOWN_PROBLEMS):
                self.stdout.write(line)
            if result.feed.status == FeedFile.Status.REFUSED:
                refused.append(path.name)
        if refused:
            raise CommandError(f"refused: {', '.join(refused)}")
