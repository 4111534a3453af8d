"""Pull the orders Shopify changed since the last pull (the safety net under the webhooks), once, now."""

from django.core.management.base import BaseCommand, CommandError

from oms.shop.pull import PullError, shop_orders_pull


class Command(BaseCommand):
    help = "Import the orders Shopify updated since the last successful pull (oms/shop/pull.py)."

    def handle(self, *args, **options):
        try:
            pull = shop_orders_pull()
        except PullError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"pull {pull.pk} {pull.status}: orders updated since {pull.since:%Y-%m-%d %H:%M:%S}: "
                          f"found {pull.found}, created {pull.created}, updated {pull.updated}"
                          + (f" — {pull.error}" if pull.error else ""))
        if pull.status != pull.Status.OK:
            raise CommandError("the pull failed; it will be tried again by the next one")
