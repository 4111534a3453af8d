"""Write the ERP/WMS export files once, now (what the `export_erp_feeds` task does; see docs/erp-feeds.md)."""

from django.core.management.base import BaseCommand

from oms.feeds.exports import erp_feeds_export


class Command(BaseCommand):
    help = ("Send WMS requests, write cancellations, then one CSV file per kind (orders, allocations, fulfilled) "
            "under FEEDS_DIR/outbox/<kind>/ with every PENDING ERP message; prints 'kind: N rows → path'.")

    def handle(self, *args, **options):
        for line in erp_feeds_export().lines():
            self.stdout.write(line)
