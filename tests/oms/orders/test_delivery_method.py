"""An order's delivery method is derived from its lines, never stored."""

import pytest

from tests.factories import OrderFactory, OrderLineFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("pickup_codes", "expected"),
    [(["", ""], "SHIP"), (["NYC-01", "NYC-01"], "PICKUP"), (["NYC-01", ""], "MIXED")],
)
def test_delivery_method_follows_the_lines(pickup_codes, expected):
    order = OrderFactory()
    for code in pickup_codes:
        OrderLineFactory(order=order, pickup_store_code=code)
    assert order.delivery_method == expected


def test_canceled_ship_line_leaves_a_pickup_order():
    order = OrderFactory()
    OrderLineFactory(order=order, pickup_store_code="NYC-01")
    OrderLineFactory(order=order, pickup_store_code="", status="CANCELED")
    assert order.delivery_method == "PICKUP"
