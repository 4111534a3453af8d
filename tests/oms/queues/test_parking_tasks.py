"""The parking tasks on the real Celery worker: auto-cancel of expired unfillable lines, release of waiting lines."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from oms.models import Order, OrderLine, OutboxMessage
from oms.tasks import cancel_expired_unfillable, release_waiting_lines
from stores.stock import stock_adjust
from tests.conftest import wait_for, worker_idle
from tests.factories import FacilityFactory, OrderFactory, OrderLineFactory, ProductFactory

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True)]





def test_expired_unfillable_line_is_canceled_on_the_worker_and_told_once(celery_worker):
    order = OrderFactory(status="APPROVED")
    # The clock is the worker's own: the line's deadline is simply backdated.
    line = OrderLineFactory(order=order, status="QUEUED", queue="UNFILLABLE",
                            auto_cancel_at=timezone.now() - timedelta(days=1))
    held = OrderLineFactory(order=OrderFactory(status="APPROVED"), status="QUEUED", queue="UNFILLABLE_HOLD",
                            auto_cancel_at=timezone.now() - timedelta(days=1))

    cancel_expired_unfillable.delay()
    cancel_expired_unfillable.delay()

    wait_for(lambda: OrderLine.objects.get(pk=line.pk).status == "CANCELED", message="line canceled")
    wait_for(lambda: Order.objects.get(pk=order.pk).status == "CANCELED", message="order canceled")
    wait_for(worker_idle, message="both runs finished")
    message = OutboxMessage.objects.get()
    assert (message.kind, message.order_id, message.idempotency_key) == (
        "lines-canceled", order.pk, f"lines-canceled:{order.pk}:{line.pk}")
    assert OrderLine.objects.get(pk=held.pk).status == "QUEUED"


def test_backorder_is_released_on_the_worker_when_stock_arrives(celery_worker):
    product, store = ProductFactory(), FacilityFactory()
    line = OrderLineFactory(order=OrderFactory(status="APPROVED"), product=product, status="QUEUED",
                            queue="BACKORDER", kind="BACKORDER")
    with transaction.atomic():
        stock_adjust(facility_id=store.pk, product_id=product.pk, delta=3, reason="RECEIPT")

    release_waiting_lines.delay()

    wait_for(lambda: OrderLine.objects.get(pk=line.pk).queue == "BROKERING", message="line released")
    wait_for(worker_idle, message="worker idle")
    assert line.order.notes.count() == 1
