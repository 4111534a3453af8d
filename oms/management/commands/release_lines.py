"""Release pre-order and backorder lines to BROKERING: those due (date or stock), or named orders by force."""

from django.core.management.base import BaseCommand, CommandError

from oms.models import Order
from oms.queues.parkings import ParkingError, waiting_lines_release


class Command(BaseCommand):
    help = (
        "Send PRE_ORDER and BACKORDER lines whose promise date came or whose stock arrived to BROKERING "
        "(all orders, or only --order NAME ...). With --force the named orders' waiting lines go regardless."
    )

    def add_arguments(self, parser):
        parser.add_argument("--order", action="append", metavar="NAME", help="order name, e.g. #1001 (repeatable)")
        parser.add_argument("--force", action="store_true", help="release the named orders' lines regardless")
        parser.add_argument("--reason", default="", help="why (shown on the timeline of a forced release)")

    def handle(self, *args, **options):
        names = options["order"] or []
        if options["force"] and not names:
            raise CommandError("--force releases named orders only: add --order NAME.")
        order_ids = None
        if names:
            found = list(Order.objects.filter(name__in=names).values_list("name", "pk"))
            unknown = [name for name in names if name not in {name for name, _ in found}]
            if unknown:
                raise CommandError(f"Unknown order(s): {', '.join(unknown)}")
            order_ids = sorted(pk for _, pk in found)
        try:
            released = waiting_lines_release(order_ids=order_ids, force=options["force"],
                                             reason=options["reason"] or "forced by command")
        except ParkingError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"released {released} line(s) to BROKERING")
