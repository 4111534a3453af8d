"""Run one brokering run of a queue now and print what it achieved."""

import sys
import time

from django.core.management.base import BaseCommand, CommandError

from oms.routing.runs import RUN_QUEUES, RunAlreadyActive, brokering_run


class Command(BaseCommand):
    help = "Route the queued lines of one queue (BROKERING, REJECTED, UNFILLABLE or UNFILLABLE_HOLD) now."

    def add_arguments(self, parser):
        parser.add_argument("queue", help=f"One of {', '.join(RUN_QUEUES)}.")
        parser.add_argument("--batch-size", type=int, default=None, help="Orders per transaction.")

    def handle(self, *args, **options):
        queue = options["queue"].strip().upper()
        if queue not in RUN_QUEUES:
            raise CommandError(f"unknown queue {options['queue']!r}: use one of {', '.join(RUN_QUEUES)}")
        started = time.monotonic()
        try:
            run = brokering_run(queue=queue, trigger="command", batch_size=options["batch_size"])
        except RunAlreadyActive:
            self.stdout.write("already running")
            sys.exit(1)
        fill_rate = f"{run.fill_rate:.1%}" if run.fill_rate is not None else "-"
        self.stdout.write(
            f"queue {queue}: orders {run.orders_considered}, lines {run.lines_considered}, "
            f"allocated {run.lines_allocated}, parked {run.lines_parked}, fill rate {fill_rate}, "
            f"errors {len(run.errors)}, {time.monotonic() - started:.2f} s"
        )
        for error in run.errors:
            where = f"{error['order']}: " if error.get("order") else ""
            self.stderr.write(f"  {where}{error['error']}")
