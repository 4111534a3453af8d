"""Approve every CREATED order that passes its checks, and say why the others are held."""

from django.core.management.base import BaseCommand

from oms.orders.approval import orders_approve_pending


class Command(BaseCommand):
    help = "Approve CREATED orders that pass the approval checks; print the reasons for each order held."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=200, help="Orders read per batch (default 200).")

    def handle(self, *args, **options):
        summary = orders_approve_pending(batch_size=options["batch_size"])
        line = f"checked {summary.checked}, approved {summary.approved}, held {summary.held}"
        if summary.failed:
            line += f", failed {summary.failed}"
        self.stdout.write(line)
        for held in summary.held_orders:
            reasons = "; ".join(f"{b['code']}: {b['message']}" for b in held.blockers)
            self.stdout.write(f"  {held.name}: {reasons}")
        for error in summary.errors:
            self.stderr.write(f"  {error}")
