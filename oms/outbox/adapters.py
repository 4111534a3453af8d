"""The destination-adapter interface the outbox dispatcher delivers through, and which destination has one."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from django.conf import settings
from django.utils.module_loading import import_string

if TYPE_CHECKING:
    from oms.models import OutboxMessage


class DeliveryError(Exception):
    """A message could not be delivered this time; the subclass says whether trying again can help."""


class TemporaryDeliveryError(DeliveryError):
    """The receiver is down, slow or said "try later": the dispatcher retries with backoff.

    `retry_after` (seconds) is when the receiver asked to be tried again (HTTP Retry-After): the next try is
    never earlier.
    """

    def __init__(self, *args, retry_after: float | None = None):
        super().__init__(*args)
        self.retry_after = retry_after


class PermanentDeliveryError(DeliveryError):
    """The message can never be delivered as it is (unknown kind, no recipient, rejected address, the shop
    answered 4xx): it is FAILED at once, with the error (the receiver's answer) kept, for a person to look at
    and retry after fixing the cause. It keeps holding back the newer messages of its order and destination."""


class Adapter(Protocol):
    """Delivers one outbox message to its destination.

    `deliver` returns once the receiver has accepted the message, and raises TemporaryDeliveryError or
    PermanentDeliveryError otherwise (any other exception counts as temporary). It is called inside the
    dispatcher's transaction, with the message's row locked, so it may read the database; it must not
    change the message row itself. It must hand the receiver the message's idempotency key (an HTTP
    header, a stable email Message-ID): a crash between the receiver accepting and our commit sends the
    message once more, and the key is how the receiver drops that copy. It must give up within a bounded
    time (a timeout on every network call): the row stays locked while it runs.
    """

    def deliver(self, message: OutboxMessage) -> None: ...


def adapters_configured() -> dict[str, Adapter]:
    """One adapter per destination that has one (settings.OUTBOX_ADAPTERS: destination → dotted class path).

    A destination without an adapter is simply not delivered yet: its messages wait, PENDING.
    """
    return {destination: import_string(path)() for destination, path in settings.OUTBOX_ADAPTERS.items()}


def destination_has_adapter(destination: str) -> bool:
    return destination in settings.OUTBOX_ADAPTERS
