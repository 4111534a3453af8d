"""A count below what is reserved shows on the store manager's home page, with the shortfall per product."""

from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from stores.models import StockLevel
from stores.stock import stock_levels_open, stock_reserve
from tests.factories import ProductFactory
from tests.fulfillment.store_world import store_with_people
from tests.oms.feeds.feed_world import HEADER, import_text, iso

pytestmark = pytest.mark.django_db


def short_products(facility, count: int, *, first: int = 0) -> None:
    """`count` products with 5 on hand and 4 reserved, then counted at 1, 2 … (short by 3, 2 …)."""
    now = timezone.now()
    products = [ProductFactory(sku=f"SHORT-{first + n:02d}", name=f"Short item {first + n}") for n in range(count)]
    with transaction.atomic():
        stock_levels_open(levels=[(facility.pk, p.pk, 5, f"S-{n}") for n, p in enumerate(products)], source="test",
                          now=now - timedelta(days=1))
        for product in products:
            stock_reserve(facility_id=facility.pk, product_id=product.pk, quantity=4, now=now - timedelta(days=1))
    rows = [f"{facility.code},{p.sku},{n % 3 + 1},{iso(now - timedelta(hours=1))}" for n, p in enumerate(products)]
    import_text(HEADER + "\n".join(rows) + "\n", name=f"counts-{first}.csv")


def home(client, user):
    client.force_login(user)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("home"))
    return response, len(queries)


def test_the_manager_sees_products_counted_below_reserved_with_the_shortfall(client):
    facility, associate, manager = store_with_people("CHI-09")
    short_products(facility, 1)
    fine = ProductFactory(sku="FINE-1")
    with transaction.atomic():
        stock_levels_open(levels=[(facility.pk, fine.pk, 9, "")], source="test")

    response, _ = home(client, manager)

    [level] = response.context["overview"].shortfalls
    assert (level.product.sku, level.on_hand, level.reserved, level.short) == ("SHORT-00", 1, 4, 3)
    html = response.content.decode()
    assert "Counted below what is reserved" in html and "SHORT-00" in html and "FINE-1" not in html
    assert StockLevel.objects.get(product__sku="SHORT-00").reserved == 4
    assert "Counted below what is reserved" not in home(client, associate)[0].content.decode()


def test_the_home_page_query_count_does_not_grow_with_the_shortfalls(client):
    facility, _, manager = store_with_people("CHI-10")
    short_products(facility, 1)
    _, with_one = home(client, manager)
    short_products(facility, 40, first=1)

    response, with_many = home(client, manager)

    overview = response.context["overview"]
    assert len(overview.shortfalls) == 30 and overview.more_shortfalls
    assert [level.short for level in overview.shortfalls][:1] == [3]
    assert with_many == with_one
