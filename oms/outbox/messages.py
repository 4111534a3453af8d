"""The outbox: writing the messages that leave the system, kicking the dispatcher, and retrying dead messages.

Delivery itself is oms.outbox.dispatch (the dispatcher) and oms.delivery (one adapter per destination).
"""

import logging
from datetime import datetime

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from oms.celery import app as celery_app
from oms.models import Order, OutboxMessage
from oms.outbox.adapters import destination_has_adapter

logger = logging.getLogger(__name__)


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
    ignored (returns None) — retried webhooks and tasks that run twice write nothing new. When the
    destination has an adapter, the dispatcher is kicked once the transaction commits.
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
    if destination_has_adapter(destination):
        outbox_dispatch_on_commit()
    return message


def outbox_dispatch_on_commit() -> None:
    """Kick the dispatcher when the current transaction commits — once, however many messages it wrote."""
    if any(callback is _dispatch_kick for _, callback, _ in connection.run_on_commit):
        return
    transaction.on_commit(_dispatch_kick)


def _dispatch_kick() -> None:
    """Queue one `dispatch_outbox` task. Never raises and never waits for a broker that is down: the message is
    already committed, and the periodic sweep (OUTBOX_SWEEP_SECONDS) delivers it when no kick got through."""
    try:
        with celery_app.producer_or_acquire() as producer:
            producer.connection.ensure_connection(max_retries=0)  # one try: kombu's default retries take seconds
            # By name: oms.tasks imports the services that write to the outbox.
            celery_app.send_task("oms.tasks.dispatch_outbox", producer=producer, retry=False)
    except Exception:
        logger.warning("outbox: could not queue the dispatcher; the periodic sweep will deliver", exc_info=True)


STOPPED = [OutboxMessage.Status.FAILED, OutboxMessage.Status.DEAD]


def outbox_dead_list(*, limit: int | None = None) -> list[OutboxMessage]:
    """The messages that stopped and wait for a person, oldest first: FAILED (the receiver refused them, its
    answer in `last_error`) and DEAD (out of tries). Each holds back the newer messages of its order and
    destination until it is retried. For the console and `manage.py outbox list --dead`."""
    dead = OutboxMessage.objects.filter(status__in=STOPPED).select_related("order").order_by("pk")
    return list(dead[:limit] if limit else dead)


def outbox_retry(*, message_id: int | None = None, all_dead: bool = False, now: datetime | None = None) -> int:
    """Give one stopped message (`message_id`, FAILED or DEAD) or every stopped one (`all_dead`) a new round.

    The message becomes PENDING, due now, with its attempts counted from zero again; `last_error` is kept
    until the next try. Returns how many messages were put back (0 for a message that is PENDING or
    DELIVERED). Raises OutboxMessage.DoesNotExist for an unknown id. The dispatcher is kicked on commit.
    """
    if (message_id is None) == (not all_dead):
        raise ValueError("give either message_id or all_dead=True")
    now = now or timezone.now()
    with transaction.atomic():
        if all_dead:
            messages = OutboxMessage.objects.filter(status__in=STOPPED)
        else:
            if not OutboxMessage.objects.filter(pk=message_id).exists():
                raise OutboxMessage.DoesNotExist(f"no outbox message {message_id}")
            messages = OutboxMessage.objects.filter(pk=message_id, status__in=STOPPED)
        count = messages.update(status=OutboxMessage.Status.PENDING, due_at=now, attempts=0)
        if count:
            outbox_dispatch_on_commit()
    return count
