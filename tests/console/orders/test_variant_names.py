"""Lists name the variant a customer ordered ("Tee - Navy / M"), not only the product ("Tee")."""

import pytest

from tests.factories import OrderFactory, OrderLineFactory, ProductFactory

pytestmark = pytest.mark.django_db


def test_the_order_page_names_each_lines_variant(ops_client):
    order = OrderFactory()
    OrderLineFactory(order=order, product=ProductFactory(name="Classic Crew Tee - Navy / M"), title="Classic Crew Tee")
    page = ops_client.get(f"/console/orders/{order.pk}/").content.decode()
    assert "Classic Crew Tee - Navy / M" in page
