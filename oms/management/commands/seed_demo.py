"""Fill the database with the demo world (stores, catalog, stock, users, shop orders); safe to run again."""

import time

from django.core.management.base import BaseCommand

from oms.demo.seed import demo_logins, demo_seed
from oms.demo.store_work import demo_store_work
from oms.demo.world import DEMO_PASSWORD
from oms.orders.approval import orders_approve_pending
from oms.routing.runs import RunAlreadyActive, brokering_run


class Command(BaseCommand):
    help = "Create the demo stores, warehouses, products, stock, users and orders that are missing."

    def handle(self, *args, **options):
        started = time.monotonic()
        summary = demo_seed()
        elapsed = time.monotonic() - started

        rows = [
            ("facilities", summary.facilities),
            ("products", summary.products),
            ("stock levels", summary.stock_levels),
            ("users", summary.users),
        ]
        for label, count in rows:
            self.stdout.write(f"{label:<13} {count.total:>5} ({count.created} created)")
        outcomes = ", ".join(f"{n} {outcome}" for outcome, n in sorted(summary.orders.items())) or "none"
        self.stdout.write(f"{'orders':<13} {outcomes}")
        self.stdout.write(self.style.SUCCESS(f"demo data ready in {elapsed:.1f} s"))

        # End with the work the worker would do in its first minutes, so every store has pick jobs
        # waiting as soon as the demo opens. Both steps find nothing new on a second seed.
        approval = orders_approve_pending()
        self.stdout.write(
            f"approval      checked {approval.checked}, approved {approval.approved}, held {approval.held}"
        )
        try:
            run = brokering_run(queue="BROKERING", trigger="seed")
        except RunAlreadyActive:
            self.stdout.write("brokering     already running in the worker: its run routes the approved orders")
        else:
            self.stdout.write(
                f"brokering     orders {run.orders_considered}, lines {run.lines_considered}, "
                f"allocated {run.lines_allocated}, parked {run.lines_parked}"
            )
        # And something at every station of a few stores: an order waiting at packing, one for the carrier.
        work = demo_store_work()
        self.stdout.write(f"store work    picked {work.picked} orders, packed and labelled {work.labelled}, "
                          f"{work.ready_for_pickup} pickups ready at the counter")

        self.stdout.write("")
        self.stdout.write(f"{'role':<16} {'username':<18} password")
        for login in demo_logins():
            self.stdout.write(f"{login.role:<16} {login.username:<18} {DEMO_PASSWORD}")
        self.stdout.write(
            "Every store, and the warehouse without a WMS, has <code>-manager and <code>-associate "
            "(e.g. chi01-manager, whwest-associate)."
        )
