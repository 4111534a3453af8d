"""The SHOP destination as a generic signed JSON webhook: one POST per outbox message (docs/shop-sync.md).

The body is the message's envelope as canonical JSON (sorted keys, no spaces), so every send of one message
carries the same bytes and the same signature. Headers:

- `X-Storefill-Signature`: `sha256=` + hex HMAC-SHA256 of the raw body with SHOP_SYNC_SECRET;
- `Idempotency-Key`: the message's idempotency key (the receiver drops a second copy by it);
- `X-Storefill-Kind`: the message's kind; `X-Storefill-Attempt`: 1 for the first try, 2 for the next…

The answer decides: 2xx delivered; a timeout, a refused or broken connection, 408, 425, 429 and 5xx are tried
again later (never before the answer's Retry-After); any other status (4xx, and 3xx: redirects are not
followed) is a refusal, kept with the answer's first bytes for a person to read.
"""

from __future__ import annotations

import email.utils
import hashlib
import hmac
import http.client
import json
import urllib.error
import urllib.request
from datetime import UTC, datetime

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.serializers.json import DjangoJSONEncoder

from oms.models import OutboxMessage
from oms.outbox.adapters import PermanentDeliveryError, TemporaryDeliveryError

SIGNATURE_HEADER = "X-Storefill-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"
RETRYABLE_STATUSES = frozenset({408, 425, 429})
ANSWER_KEPT = 1000  # characters of a refusal's body kept in last_error


def shop_envelope(message: OutboxMessage) -> dict:
    """What the shop receives for one message: its key, kind, time, the order's ids and the kind's payload."""
    order = message.order
    return {
        "idempotency_key": message.idempotency_key,
        "kind": message.kind,
        "created_at": message.created_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "order": {"external_id": order.external_id, "name": order.name} if order is not None else None,
        "payload": message.payload,
    }


def shop_body(message: OutboxMessage) -> bytes:
    """The exact bytes POSTed for a message: the same for every send of it."""
    return json.dumps(shop_envelope(message), cls=DjangoJSONEncoder, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode()


def shop_signature(body: bytes, secret: str) -> str:
    """The signature header's value for a body: `sha256=<hex HMAC-SHA256>`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def shop_signature_valid(body: bytes, header: str, secret: str) -> bool:
    """How a receiver checks a request (constant-time comparison); also used by the tests' fake shop."""
    return hmac.compare_digest(shop_signature(body, secret), header or "")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a 3xx answer is an HTTPError: the webhook's URL is wrong, a person must look


class ShopWebhookAdapter:
    """POSTs each SHOP message to SHOP_SYNC_URL, signed with SHOP_SYNC_SECRET (see the module docstring).

    Every network call gives up after SHOP_SYNC_TIMEOUT seconds (the message's row is locked meanwhile).
    """

    def __init__(self):
        if not settings.SHOP_SYNC_URL or not settings.SHOP_SYNC_SECRET:
            raise ImproperlyConfigured("the SHOP webhook adapter needs SHOP_SYNC_URL and SHOP_SYNC_SECRET")
        self.url = settings.SHOP_SYNC_URL
        self.secret = settings.SHOP_SYNC_SECRET
        self.timeout = settings.SHOP_SYNC_TIMEOUT
        self.opener = urllib.request.build_opener(_NoRedirect)

    def deliver(self, message: OutboxMessage) -> None:
        body = shop_body(message)
        request = urllib.request.Request(self.url, data=body, method="POST", headers={
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "Storefill-Outbox/1",
            SIGNATURE_HEADER: shop_signature(body, self.secret),
            IDEMPOTENCY_HEADER: message.idempotency_key,
            "X-Storefill-Kind": message.kind,
            "X-Storefill-Attempt": str(message.attempts),
        })
        try:
            with self.opener.open(request, timeout=self.timeout) as response:
                response.read(ANSWER_KEPT)
        except urllib.error.HTTPError as answer:
            self._refused_or_later(answer)
        except TimeoutError as exc:
            raise TemporaryDeliveryError(f"no answer within {self.timeout:g} s") from exc
        except urllib.error.URLError as exc:  # refused, unreachable, unknown host, TLS
            raise TemporaryDeliveryError(f"cannot reach the shop: {exc.reason}") from exc
        except (OSError, http.client.HTTPException) as exc:  # reset, closed mid-answer
            raise TemporaryDeliveryError(f"{type(exc).__name__}: {exc}") from exc

    def _refused_or_later(self, answer: urllib.error.HTTPError) -> None:
        try:
            text = answer.read(ANSWER_KEPT).decode("utf-8", "replace")
        except (OSError, http.client.HTTPException):
            text = ""
        finally:
            answer.close()
        described = f"HTTP {answer.code} {answer.reason}" + (f": {text}" if text else "")
        if answer.code in RETRYABLE_STATUSES or answer.code >= 500:
            raise TemporaryDeliveryError(described, retry_after=retry_after_seconds(answer.headers.get("Retry-After")))
        raise PermanentDeliveryError(described)


def retry_after_seconds(value: str | None, *, now: datetime | None = None) -> float | None:
    """A Retry-After header as seconds from now: delta-seconds or an HTTP date; None when missing or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
