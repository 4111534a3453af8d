"""A fake Shopify wired in as the SHOP adapter, a store at its location, and an order shipped through the real
pick, pack and carrier handover: shared by the Shopify adapter's tests and the carrier-tracking tests."""

from django.utils import timezone

from fulfillment.handover import handover_all
from oms.models import Order, OutboxMessage
from stores.models import Facility
from tests.factories import ProductFactory
from tests.fake_shopify import TOKEN, FakeShopify
from tests.fulfillment.packing_world import packed, picked_order
from tests.fulfillment.store_world import stock, store_with_people

SHOP = OutboxMessage.Destination.SHOP


def shopify_configured(settings) -> FakeShopify:
    """Start a fake Shopify and make it the SHOP destination's adapter (the caller stops it)."""
    fake = FakeShopify()
    settings.OUTBOX_ADAPTERS = {**settings.OUTBOX_ADAPTERS, "SHOP": "oms.shop.shopify.ShopifyAdapter"}
    settings.SHOPIFY_SHOP_DOMAIN, settings.SHOPIFY_ADMIN_TOKEN = "storefill-test.myshopify.com", TOKEN
    settings.SHOPIFY_GRAPHQL_URL, settings.SHOP_SYNC_TIMEOUT = fake.url, 2.0
    return fake


def shopify_store(code: str = "SHOPIFY-01"):
    facility, associate, _ = store_with_people(code)
    Facility.objects.filter(pk=facility.pk).update(shop_location_id="70001")
    return Facility.objects.get(pk=facility.pk), associate


def shop_messages(order) -> list[OutboxMessage]:
    return list(OutboxMessage.objects.filter(order=order, destination=SHOP).order_by("pk"))


def send_again(message: OutboxMessage) -> None:
    """What a crash between Shopify's answer and our commit leads to: the same message once more."""
    OutboxMessage.objects.filter(pk=message.pk).update(status=OutboxMessage.Status.PENDING, due_at=timezone.now())


def shipped_order(store, fake: FakeShopify) -> Order:
    """An order shipped by the store through the real pick, pack and carrier handover, known to the fake shop."""
    facility, associate = store
    product = ProductFactory()
    stock(facility, product, 5)
    job = picked_order(facility, associate, [(product, 2)])
    fake.add_order(job.order.external_id, {line.external_line_id: line.quantity for line in job.order.lines.all()})
    handover = packed(job, associate)
    handover_all(facility=facility, carrier=handover.carrier, actor=associate)
    return Order.objects.get(pk=job.order_id)
