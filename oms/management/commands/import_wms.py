"""Import WMS files: acknowledgements, fulfilled lines or rejections a warehouse sends back (docs/erp-feeds.md)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from oms.feeds.files import feed_report_lines
from oms.feeds.wms import COLUMNS, COMMAND_KINDS, wms_feed_import
from oms.models import FeedFile

SHOWN_PROBLEMS = 10


class Command(BaseCommand):
    help = ("Import WMS CSV files of one kind: one report line per file, then its first rejected rows. "
            "Exits 1 when a file is refused as a whole.")

    def add_arguments(self, parser):
        headers = "; ".join(f"{name}: {','.join(COLUMNS[kind][0])}" for name, kind in COMMAND_KINDS.items())
        parser.add_argument("kind", choices=sorted(COMMAND_KINDS), help=f"What the files hold ({headers}).")
        parser.add_argument("files", nargs="+", help="CSV files.")

    def handle(self, *args, **options):
        kind = COMMAND_KINDS[options["kind"]]
        refused = []
        for name in options["files"]:
            path = Path(name)
            try:
                with open(path, "rb") as file:
                    result = wms_feed_import(kind, file, name=path.name, source=FeedFile.Source.COMMAND)
            except OSError as exc:
                raise CommandError(f"cannot read {path}: {exc}") from exc
            for line in feed_report_lines(result, name=path.name, shown=SHOWN_PROBLEMS):
                self.stdout.write(line)
            if result.feed.status == FeedFile.Status.REFUSED:
                refused.append(path.name)
        if refused:
            raise CommandError(f"refused: {', '.join(refused)}")
