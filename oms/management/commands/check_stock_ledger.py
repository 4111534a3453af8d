"""Recompute on_hand and reserved from the ledger and the open allocations; exit 1 on any mismatch."""

import sys

from django.core.management.base import BaseCommand

from fulfillment.ledger import stock_ledger_problems
from stores.models import StockLevel


class Command(BaseCommand):
    help = "Check every stock level against the inventory ledger and the allocated order lines."

    def handle(self, *args, **options):
        problems = stock_ledger_problems()
        for problem in problems:
            self.stderr.write(problem)
        checked = StockLevel.objects.count()
        if problems:
            self.stderr.write(self.style.ERROR(f"{len(problems)} mismatches in {checked} stock levels"))
            sys.exit(1)
        self.stdout.write(self.style.SUCCESS(f"stock ledger OK: {checked} stock levels reconcile"))
