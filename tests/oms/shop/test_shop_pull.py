"""The safety-net pull: orders whose webhooks were missed are imported through the webhook code, page by page;
a second pull of the same window changes nothing; each pull records what it found."""

from datetime import UTC, timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from oms.models import Order, ShopPull
from oms.shop import pull as shop_pull
from oms.shop.importer import shopify_webhook_receive
from oms.shop.payload import TOPIC_CREATE
from oms.shop.pull import PullError, order_payload, shop_orders_pull
from tests.factories import ProductFactory
from tests.fake_shopify import TOKEN, FakeShopify, order_node

pytestmark = pytest.mark.django_db


@pytest.fixture
def shopify(settings):
    fake = FakeShopify()
    settings.SHOPIFY_SHOP_DOMAIN, settings.SHOPIFY_ADMIN_TOKEN = "storefill-test.myshopify.com", TOKEN
    settings.SHOPIFY_GRAPHQL_URL, settings.SHOP_SYNC_TIMEOUT = fake.url, 2.0
    yield fake
    fake.stop()


def stamp(moment) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def now():
    return timezone.now().replace(microsecond=0)


def test_missed_orders_are_pulled_page_by_page_and_a_second_pull_changes_nothing(shopify, now, monkeypatch):
    monkeypatch.setattr(shop_pull, "PAGE_SIZE", 2)
    ProductFactory(sku="PULL-1")
    shopify.pullable = [order_node(7000 + n, updated_at=stamp(now - timedelta(minutes=minutes)), sku="PULL-1",
                                   quantity=n + 1) for n, minutes in enumerate([60, 45, 28])]
    shopify.pullable.append(order_node(6999, updated_at=stamp(now - timedelta(days=3)), sku="PULL-1"))  # too old

    pull = shop_orders_pull(now=now)

    assert (pull.status, pull.found, pull.created, pull.updated) == (ShopPull.Status.OK, 3, 3, 0)
    assert pull.since == now - timedelta(hours=24)
    assert pull.until == now - timedelta(minutes=28)  # the newest updatedAt seen
    assert shopify.operations() == ["StorefillOrdersUpdated"] * 2  # two pages of two
    order = Order.objects.get(external_id="7002")
    assert (order.name, order.email, order.customer_name) == ("#P7002", "pulled@example.com", "Pat Pulled")
    assert [(line.sku, line.quantity, line.external_line_id) for line in order.lines.all()] == [("PULL-1", 3, "70021")]
    assert order.shipping_address["country_code"] == "US" and order.shipping_address["zip"] == "60601"

    again = shop_orders_pull(now=now + timedelta(minutes=15))

    assert again.since == pull.until - timedelta(seconds=300)  # the overlap
    assert (again.found, again.created, again.updated) == (1, 0, 0)  # only the newest is inside the overlap
    assert Order.objects.filter(external_id__in=["7000", "7001", "7002"]).count() == 3
    assert not Order.objects.filter(external_id="6999").exists()


def test_an_order_the_webhook_brought_is_not_imported_twice(shopify, now):
    ProductFactory(sku="PULL-2")
    node = order_node(7100, updated_at=stamp(now - timedelta(minutes=5)), sku="PULL-2")
    shopify_webhook_receive(topic=TOPIC_CREATE, payload=order_payload(node), webhook_id="real-webhook-1", now=now)
    shopify.pullable = [node]

    pull = shop_orders_pull(now=now)

    assert (pull.found, pull.created) == (1, 0)
    assert Order.objects.filter(external_id="7100").count() == 1
    assert Order.objects.get(external_id="7100").lines.count() == 1


def test_an_order_cancelled_in_shopify_is_canceled_here(shopify, now):
    ProductFactory(sku="PULL-3")
    shopify.pullable = [order_node(7200, updated_at=stamp(now - timedelta(minutes=5)), sku="PULL-3",
                                   cancelled_at=stamp(now - timedelta(minutes=5)))]

    pull = shop_orders_pull(now=now)

    assert pull.found == 1
    assert Order.objects.get(external_id="7200").status == Order.Status.CANCELED


def test_a_throttled_pull_fails_and_the_next_one_starts_where_the_last_good_one_ended(shopify, now):
    ProductFactory(sku="PULL-4")
    shopify.pullable = [order_node(7300, updated_at=stamp(now - timedelta(minutes=5)), sku="PULL-4")]
    first = shop_orders_pull(now=now)
    shopify.throttle_next = 1

    failed = shop_orders_pull(now=now + timedelta(minutes=15))

    assert failed.status == ShopPull.Status.FAILED and "throttled" in failed.error
    later = shop_orders_pull(now=now + timedelta(minutes=30))
    assert later.status == ShopPull.Status.OK
    assert later.since == first.until - timedelta(seconds=300)


def test_one_pull_at_a_time_unless_the_running_one_was_abandoned(shopify, now):
    ShopPull.objects.create(started_at=now - timedelta(minutes=5), since=now, until=now,
                            status=ShopPull.Status.RUNNING)
    with pytest.raises(PullError, match="running already"):
        shop_orders_pull(now=now)
    ShopPull.objects.filter(status=ShopPull.Status.RUNNING).update(started_at=now - timedelta(hours=2))
    assert shop_orders_pull(now=now).status == ShopPull.Status.OK
    assert ShopPull.objects.filter(error__startswith="abandoned").count() == 1


def test_without_shopify_settings_the_pull_says_what_is_missing(settings):
    settings.SHOPIFY_SHOP_DOMAIN = ""
    with pytest.raises(PullError, match="SHOPIFY_SHOP_DOMAIN"):
        shop_orders_pull()


def test_the_command_prints_what_the_pull_found(shopify, now, capsys):
    ProductFactory(sku="PULL-5")
    shopify.pullable = [order_node(7400, updated_at=stamp(timezone.now() - timedelta(minutes=1)), sku="PULL-5")]
    call_command("pull_shop_orders")
    assert "found 1, created 1, updated 0" in capsys.readouterr().out
