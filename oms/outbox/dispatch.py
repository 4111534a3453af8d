"""The outbox dispatcher: claims due messages one at a time, hands each to its adapter, records the outcome.

The claim protocol (also in docs/outbox.md). Each message is delivered in its own transaction:

1. `SELECT … FOR UPDATE SKIP LOCKED` the oldest due PENDING message of a destination that has an adapter, and
   that no older undelivered message (PENDING, FAILED or DEAD) of the same order and destination precedes;
2. call the adapter (the network send) with that row lock held;
3. record the outcome and commit: DELIVERED; or, when the receiver could not take it now (down, slow, 429,
   5xx), PENDING again with the error and a later `due_at` (exponential backoff with jitter, never earlier
   than the receiver's Retry-After); FAILED when the receiver refused it for good (any other 4xx, a rejected
   address) with its answer kept; DEAD once OUTBOX_MAX_ATTEMPTS tries have failed. FAILED and DEAD wait for
   a person (`outbox_retry`, the `outbox` command, the console).

The row lock is what stops a second dispatcher (another worker, the sweep, the command) from sending the same
message: it skips locked rows, and once we commit the row is no longer due. The lock lives only as long as our
database connection, so a worker killed mid-send releases it at once and the next dispatcher sends the message
again, with the same idempotency key (for email the same Message-ID), which is the one duplicate a receiver
may see. A slow send holds only its own row, for at most the adapter's timeout; the others go on.

Ordering: while an older message of the same (order, destination) is not DELIVERED — waiting for a retry,
being sent right now (its DELIVERED is not committed yet), or stopped as FAILED or DEAD — a newer one is not
due. So the shop never gets an order's completion before its fulfillment, even when the fulfillment needed a
person to retry it. Messages to other destinations, and messages without an order, are independent: a stuck
shop message never holds up a customer email.

On SQLite (the demo) `FOR UPDATE` does not exist; its transactions take the database's single write lock at
BEGIN (transaction_mode IMMEDIATE), so the claim is just as exclusive.
"""

import logging
import random
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from oms.models import OutboxMessage
from oms.outbox.adapters import Adapter, PermanentDeliveryError, TemporaryDeliveryError, adapters_configured

logger = logging.getLogger(__name__)

# Not delivered yet: each of these holds back the newer messages of its (order, destination).
UNDELIVERED = [OutboxMessage.Status.PENDING, OutboxMessage.Status.FAILED, OutboxMessage.Status.DEAD]


@dataclass
class DispatchResult:
    delivered: int = 0
    retrying: int = 0
    failed: int = 0  # refused by the receiver: waits for a person
    dead: int = 0  # out of tries: waits for a person
    more: bool = False  # stopped at the limit: messages may be left for another run

    def counts(self) -> dict:
        return asdict(self)


def outbox_dispatch(*, now: datetime | None = None, limit: int | None = None) -> DispatchResult:
    """Deliver due outbox messages until none is left or `limit` (default OUTBOX_DISPATCH_BATCH) were tried.

    Safe to run any number of times at once. Runs its own transactions (one per message), so it must not be
    called inside one. `now` fixes the clock (tests); by default each message is judged at the current time.
    Messages of destinations without an adapter (settings.OUTBOX_ADAPTERS) are left alone, PENDING.
    """
    result = DispatchResult()
    adapters = adapters_configured()
    if not adapters:
        return result
    tried: set[int] = set()  # one try per message per run: a retry due at once waits for the next run
    for _ in range(limit or settings.OUTBOX_DISPATCH_BATCH):
        outcome = _message_dispatch(adapters, now=now or timezone.now(), tried=tried)
        if outcome is None:
            return result
        setattr(result, outcome, getattr(result, outcome) + 1)
    result.more = True
    return result


def _message_dispatch(adapters: dict[str, Adapter], *, now: datetime, tried: set[int]) -> str | None:
    """Claim, send and record one message (see the module docstring); None when no message is due."""
    with transaction.atomic(durable=True):
        message = _message_claim(destinations=list(adapters), now=now, tried=tried)
        if message is None:
            return None
        tried.add(message.pk)
        message.attempts += 1
        try:
            with transaction.atomic():  # a savepoint: an adapter's failed query must not spoil the outcome's write
                adapters[message.destination].deliver(message)
        except PermanentDeliveryError as exc:
            return _message_failed(message, error=f"permanent: {exc}", permanent=True, now=now)
        except Exception as exc:  # TemporaryDeliveryError, and anything unexpected: both are worth a retry
            logger.warning("outbox message %s (%s) not delivered", message.pk, message.idempotency_key, exc_info=True)
            retry_after = exc.retry_after if isinstance(exc, TemporaryDeliveryError) else None
            return _message_failed(message, error=f"{type(exc).__name__}: {exc}", permanent=False, now=now,
                                   retry_after=retry_after)
        message.status = OutboxMessage.Status.DELIVERED
        message.delivered_at = now
        message.save(update_fields=["status", "delivered_at", "attempts"])
        return "delivered"


def _message_claim(*, destinations: list[str], now: datetime, tried: set[int]) -> OutboxMessage | None:
    older_undelivered = OutboxMessage.objects.filter(
        order=OuterRef("order"), destination=OuterRef("destination"), status__in=UNDELIVERED, pk__lt=OuterRef("pk"),
    )
    return (
        OutboxMessage.objects.filter(status=OutboxMessage.Status.PENDING, due_at__lte=now,
                                     destination__in=destinations)
        .filter(~Exists(older_undelivered))
        .exclude(pk__in=tried)
        .select_for_update(skip_locked=True, of=("self",))
        .order_by("due_at", "pk")
        .first()
    )


def _message_failed(message: OutboxMessage, *, error: str, permanent: bool, now: datetime,
                    retry_after: float | None = None) -> str:
    message.last_error = error[:4000]
    if permanent:
        message.status = OutboxMessage.Status.FAILED
        logger.error("outbox message %s (%s) refused: %s", message.pk, message.idempotency_key, error)
        outcome = "failed"
    elif message.attempts >= settings.OUTBOX_MAX_ATTEMPTS:
        message.status = OutboxMessage.Status.DEAD
        logger.error("outbox message %s (%s) is dead after %s attempts: %s",
                     message.pk, message.idempotency_key, message.attempts, error)
        outcome = "dead"
    else:
        message.status = OutboxMessage.Status.PENDING
        delay = retry_delay(message.attempts)
        if retry_after is not None:  # the receiver said when: never earlier than that (within a day)
            delay = max(delay, min(retry_after, 86400.0))
        message.due_at = now + timedelta(seconds=delay)
        outcome = "retrying"
    message.save(update_fields=["status", "attempts", "last_error", "due_at"])
    return outcome


def retry_delay(attempts: int) -> float:
    """Seconds to wait after the `attempts`-th failed try: STOREFILL_RETRY_BACKOFF · 2^(attempts−1), at most
    OUTBOX_MAX_BACKOFF, of which a random half is taken off (jitter, so messages that failed together — a
    shop outage — do not all come back in the same second)."""
    delay = min(settings.STOREFILL_RETRY_BACKOFF * 2 ** min(attempts - 1, 32), settings.OUTBOX_MAX_BACKOFF)
    return delay / 2 + random.uniform(0, delay / 2)
