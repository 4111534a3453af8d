"""Fill the database with the demo world (stores, catalog, stock, users, shop orders); safe to run again."""

import time

from django.core.management.base import BaseCommand

from oms.demo_data import DEMO_PASSWORD, demo_logins, demo_seed


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

        self.stdout.write("")
        self.stdout.write(f"{'role':<16} {'username':<18} password")
        for login in demo_logins():
            self.stdout.write(f"{login.role:<16} {login.username:<18} {DEMO_PASSWORD}")
        self.stdout.write(
            "Every store, and the warehouse without a WMS, has <code>-manager and <code>-associate "
            "(e.g. chi01-manager, whwest-associate)."
        )
