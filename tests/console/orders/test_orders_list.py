"""The orders list: search, filters (and refused filters), pagination, newest first, constant queries."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from oms.models import Order
from tests.console.orders.world import queued_order, routed, stocked_product, store
from tests.factories import OrderFactory

pytestmark = pytest.mark.django_db

URL = "/console/orders/"


def names(response) -> list[str]:
    return [order.name for order in response.context["rows"]]


def test_the_list_shows_each_order_with_its_facts_newest_first(ops_client):
    chicago = store("CHI-01")
    older = OrderFactory(name="#OLD", received_at=timezone.now() - timedelta(days=2))
    newer = routed([stocked_product(chicago)], quantity=2, name="#NEW", customer_name="Grace Hopper")

    response = ops_client.get(URL)

    assert response.status_code == 200
    assert names(response)[:2] == ["#NEW", "#OLD"]
    page = response.content.decode()
    assert f'href="/console/orders/{newer.pk}/"' in page and f'href="/console/orders/{older.pk}/"' in page
    assert "Grace Hopper" in page and "CHI-01" in page and "1 · 2" in page


@pytest.mark.parametrize("text", ["#T-SEARCH", "hopper", "GRACE@example", "shop-778"])
def test_search_finds_by_name_customer_email_or_shop_id(ops_client, text):
    OrderFactory(name="#T-SEARCH", customer_name="Grace Hopper", email="grace@example.com", external_id="shop-778")
    OrderFactory(name="#OTHER", customer_name="Ada Lovelace", email="ada@example.com", external_id="shop-1")

    assert names(ops_client.get(URL, {"q": text})) == ["#T-SEARCH"]


def test_filter_by_status_and_channel(ops_client):
    OrderFactory(name="#C1", status=Order.Status.CANCELED, channel="pos")
    OrderFactory(name="#C2", status=Order.Status.CANCELED)
    OrderFactory(name="#A1", status=Order.Status.APPROVED, channel="pos")

    assert names(ops_client.get(URL, {"status": "CANCELED"})) == ["#C2", "#C1"]
    assert names(ops_client.get(URL, {"status": "CANCELED", "channel": "pos"})) == ["#C1"]


def test_filter_by_queue_takes_orders_with_a_queued_line_there(ops_client):
    product = stocked_product(store("CHI-01"))
    queued_order([product], queue="UNFILLABLE", name="#PARKED")
    queued_order([product], queue="BROKERING", name="#WAITING")

    assert names(ops_client.get(URL, {"queue": "UNFILLABLE"})) == ["#PARKED"]


def test_filter_by_facility_takes_orders_with_a_line_or_request_there(ops_client):
    chicago, boston = store("CHI-01"), store("BOS-01", city="Boston")
    routed([stocked_product(chicago)], name="#AT-CHI")
    OrderFactory(name="#NOWHERE")

    assert names(ops_client.get(URL, {"facility": "CHI-01"})) == ["#AT-CHI"]
    assert names(ops_client.get(URL, {"facility": boston.code})) == []


def test_filter_by_received_dates_in_the_operators_zone(ops_client):
    ops_client.post("/console/zone/", {"zone": "America/Chicago", "next": URL})
    # 2025-03-04 03:00 UTC is still March 3rd in Chicago.
    OrderFactory(name="#LATE-3RD", received_at=datetime(2025, 3, 4, 3, 0, tzinfo=UTC))
    OrderFactory(name="#4TH", received_at=datetime(2025, 3, 4, 18, 0, tzinfo=UTC))

    assert names(ops_client.get(URL, {"received_from": "2025-03-03", "received_to": "2025-03-03"})) == ["#LATE-3RD"]
    assert names(ops_client.get(URL, {"received_from": "2025-03-04"})) == ["#4TH"]


def test_filter_by_problems_takes_import_problems_and_approval_blockers(ops_client):
    OrderFactory(name="#IMPORT", problems=[{"code": "UNKNOWN_SKU", "message": "SKU X is unknown"}])
    OrderFactory(name="#BLOCKED", approval_blockers=[{"code": "HOLD_TAG", "message": "The order is tagged HOLD."}])
    OrderFactory(name="#FINE")

    with_problems = ops_client.get(URL, {"problems": "yes"})
    assert sorted(names(with_problems)) == ["#BLOCKED", "#IMPORT"]
    assert "⚠ 1" in with_problems.content.decode()
    assert names(ops_client.get(URL, {"problems": "no"})) == ["#FINE"]


def test_bad_filters_are_refused_next_to_their_fields(ops_client):
    OrderFactory(name="#ANY")

    response = ops_client.get(URL, {"status": "LOST", "received_from": "2025-03-05", "received_to": "2025-03-01"})

    assert response.status_code == 400
    assert response.context["form"].errors["status"] and names(response) == []
    page = response.content.decode()
    assert "The end date is before the start date." in page and "LOST is not one of the available choices" in page


def test_pages_of_fifty_keep_the_filters_in_their_links(ops_client):
    for number in range(55):
        OrderFactory(name=f"#P{number:03d}", channel="web", received_at=timezone.now() - timedelta(minutes=number))

    first = ops_client.get(URL, {"channel": "web"})
    second = ops_client.get(URL, {"channel": "web", "page": 2})

    assert len(names(first)) == 50 and names(first)[0] == "#P000"
    assert names(second) == [f"#P{number:03d}" for number in range(50, 55)]
    assert 'href="?channel=web&amp;page=2"' in first.content.decode()


def test_an_htmx_search_answers_the_filters_and_results_only(ops_client):
    OrderFactory(name="#HX")

    response = ops_client.get(URL, {"q": "#HX"}, headers={"HX-Request": "true"})

    page = response.content.decode()
    assert response.status_code == 200 and "#HX" in page and 'id="orders-area"' in page and "<html" not in page


def _queries(ops_client) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert ops_client.get(URL).status_code == 200
    return len(captured)


def test_the_list_keeps_its_query_count_from_2_to_50_orders(ops_client):
    chicago = store("CHI-01")
    products = [stocked_product(chicago, on_hand=100) for _ in range(2)]

    def add(count):
        for _ in range(count):
            routed(products, problems=[{"code": "X", "message": "x"}])

    add(2)
    with_two = _queries(ops_client)
    add(48)
    assert _queries(ops_client) == with_two
