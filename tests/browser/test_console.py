"""An operator at head office: finds an order in the console, reads its timeline, previews its routing, lets the
run route it and regenerates the request, then retries the order's dead shop message from the outbox page."""

import os

import pytest
from django.utils import timezone

from oms.models import FulfillmentRequest, Order, OrderLine, OutboxMessage
from oms.routing.runs import brokering_run
from tests.browser.conftest import ARTIFACTS, login
from tests.factories import OrderFactory, OrderLineFactory, ProductFactory
from tests.fulfillment.store_world import stock, store_with_people

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def shot(page, name):
    os.makedirs(ARTIFACTS, exist_ok=True)
    page.screenshot(path=os.path.join(ARTIFACTS, f"console-{name}.png"), full_page=True)


def test_operator_finds_an_order_reads_its_timeline_previews_regenerates_and_retries_a_dead_message(
    tablet_page, live_server, operations_user,
):
    page = tablet_page
    chicago, _, _ = store_with_people("CHI-01")
    lamp = ProductFactory(name="Brass lamp")
    stock(chicago, lamp, 4, "L-01")
    now = timezone.now()
    order = OrderFactory(name="#7001", customer_name="Ada Lovelace", status=Order.Status.APPROVED, approved_at=now)
    OrderLineFactory(order=order, product=lamp, quantity=1, status=OrderLine.Status.QUEUED,
                     queue=OrderLine.Queue.BROKERING, queued_at=now)
    for other in range(3):
        OrderFactory(name=f"#70{other + 10}", customer_name="Somebody Else")
    dead = OutboxMessage.objects.create(
        kind="order-canceled", destination=OutboxMessage.Destination.SHOP, order=order, status="DEAD", attempts=10,
        idempotency_key=f"test-dead:{order.pk}", payload={"external_id": order.external_id}, due_at=now,
        created_at=now, last_error="TemporaryDeliveryError: HTTP 503 Service Unavailable",
    )

    login(page, live_server, operations_user.username)
    page.goto(f"{live_server.url}/console/orders/")
    page.fill("input[name=q]", "Ada Lovelace")
    page.locator("button:has-text('Search')").click()
    page.wait_for_selector("a:has-text('#7010')", state="detached")  # the others are filtered out
    assert page.locator("a:has-text('#7001')").count() >= 1
    shot(page, "orders-found")

    page.locator("a:has-text('#7001')").first.click()
    page.wait_for_selector("#timeline-title")
    page.locator("a:has-text('Routing preview')").click()
    page.wait_for_selector("#preview:has-text('CHI-01')")
    assert "nothing was changed" in page.locator("#preview").inner_text()
    shot(page, "preview")
    assert not FulfillmentRequest.objects.filter(order=order).exists()  # a preview writes nothing

    brokering_run(queue="BROKERING")  # the scheduled run routes it as the preview said
    request = FulfillmentRequest.objects.get(order=order)
    page.reload()
    page.wait_for_selector(f"text={request.number}")
    page.locator("summary:has-text('Regenerate')").click()
    form = page.locator("form[action$='/regenerate/']")
    form.locator("[name=reason]").fill("store asked to re-route")
    form.locator("[name=confirm]").check()
    form.locator("button:has-text('Regenerate request')").click()
    page.wait_for_selector(".message-success")
    request.refresh_from_db()
    assert request.status == FulfillmentRequest.Status.CANCELED
    new_request = FulfillmentRequest.objects.filter(order=order).exclude(pk=request.pk).get()
    assert new_request.facility == chicago
    timeline = page.locator("ol.timeline").inner_text()
    assert "store asked to re-route" in timeline
    assert operations_user.username in timeline or operations_user.get_full_name() in timeline
    shot(page, "regenerated")

    page.locator("a.console-nav-link:has-text('Outbox')").click()
    row = page.locator(f"tr:has-text('#{dead.pk}')").first
    assert "HTTP 503" in row.inner_text()
    row.locator("summary:has-text('Retry')").click()
    row.locator(f"button:has-text('Yes, retry #{dead.pk}')").click()
    page.wait_for_selector(".message-success")
    shot(page, "retried")
    dead.refresh_from_db()
    assert (dead.status, dead.attempts) == (OutboxMessage.Status.PENDING, 0)
