"""Move parked lines by hand: `park_lines hold` keeps unfillable lines from being auto-canceled."""

from django.core.management.base import BaseCommand, CommandError

from oms.management.lookups import user_by_username
from oms.queues.parkings import ParkingError, lines_move_to_hold, lines_move_to_hold_csv


class Command(BaseCommand):
    help = (
        "Move the UNFILLABLE lines of orders to UNFILLABLE_HOLD (never auto-canceled), named on the command "
        "line (--order #1001 --order #1002) or in a CSV file with an 'order' column (--csv FILE)."
    )

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["hold"], help="hold: UNFILLABLE → UNFILLABLE_HOLD")
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument("--csv", metavar="FILE", help="CSV file with a header and an 'order' column")
        source.add_argument("--order", action="append", metavar="NAME", help="order name, e.g. #1001 (repeatable)")
        parser.add_argument("--reason", required=True, help="why (shown on each order's timeline)")
        parser.add_argument("--user", metavar="USERNAME", help="who is acting (default: nobody in particular)")

    def handle(self, *args, **options):
        actor = user_by_username(options["user"])
        try:
            if options["csv"]:
                try:
                    with open(options["csv"], encoding="utf-8-sig", newline="") as file:
                        report = lines_move_to_hold_csv(file=file, actor=actor, reason=options["reason"])
                except OSError as exc:
                    raise CommandError(f"Cannot read {options['csv']}: {exc.strerror or exc}") from exc
            else:
                report = lines_move_to_hold(order_names=options["order"], actor=actor, reason=options["reason"])
        except ParkingError as exc:
            raise CommandError(str(exc)) from exc
        for line in report.text_lines():
            self.stdout.write(line)
