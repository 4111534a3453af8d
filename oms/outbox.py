"""Writing messages that leave the system. Delivery (the dispatcher) is built on top of this."""

from datetime import datetime

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from oms.models import Order, OutboxMessage


def outbox_write(
    *,
    kind: str,
    destination: str,
    idempotency_key: str,
    payload: dict,
    order: Order | None = None,
    due_at: datetime | None = None,
    now: datetime | None = None,
) -> OutboxMessage | None:
    """Add a message to the outbox in the caller's transaction.

    Must be called inside `transaction.atomic()`: the message exists exactly when the change that
    causes it is committed. A key that is already in the outbox is the same message again, so it is
    ignored (returns None) — retried webhooks and tasks that run twice write nothing new.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("outbox_write must run inside the transaction of the change it reports")
    now = now or timezone.now()
    message = OutboxMessage(
        kind=kind,
        destination=destination,
        idempotency_key=idempotency_key,
        payload=payload,
        order=order,
        due_at=due_at or now,
        created_at=now,
    )
    try:
        with transaction.atomic():  # a savepoint: a duplicate key must not poison the caller's transaction
            message.save()
    except IntegrityError:
        if OutboxMessage.objects.filter(idempotency_key=idempotency_key).exists():
            return None
        raise
    return message
