"""Writing to the outbox: in the caller's transaction, once per idempotency key."""

import pytest
from django.db import transaction

from oms.models import OutboxMessage
from oms.outbox.messages import outbox_write
from tests.factories import OrderFactory


@pytest.mark.django_db
def test_same_key_twice_writes_one_message_and_keeps_the_transaction_usable():
    order = OrderFactory()
    with transaction.atomic():
        first = outbox_write(kind="order-canceled", destination="SHOP", idempotency_key=f"order-canceled:{order.pk}",
                             payload={"order": order.name}, order=order)
        again = outbox_write(kind="order-canceled", destination="SHOP", idempotency_key=f"order-canceled:{order.pk}",
                             payload={"order": "changed"}, order=order)
        order.customer_name = "still writable"
        order.save()
    assert first is not None and again is None
    assert list(OutboxMessage.objects.values_list("payload", "status")) == [({"order": order.name}, "PENDING")]


@pytest.mark.django_db(transaction=True)
def test_outbox_write_outside_a_transaction_is_refused():
    with pytest.raises(RuntimeError, match="transaction"):
        outbox_write(kind="x", destination="SHOP", idempotency_key="x:1", payload={})
    assert not OutboxMessage.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_message_disappears_with_a_rolled_back_change():
    order = OrderFactory()
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        outbox_write(kind="order-completed", destination="SHOP", idempotency_key="order-completed:1", payload={},
                     order=order)
        raise ZeroDivisionError("the change failed")
    assert not OutboxMessage.objects.exists()
