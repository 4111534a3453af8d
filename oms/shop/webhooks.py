"""Shopify order webhooks: verify the signature, parse the body, hand it to oms.shop.importer."""

import base64
import hashlib
import hmac
import json
import logging

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from oms.shop.importer import shopify_webhook_receive
from oms.shop.payload import TOPIC_CANCELLED, TOPIC_CREATE, TOPIC_UPDATED, ShopPayloadError

logger = logging.getLogger(__name__)


def shopify_signature_valid(*, body: bytes, signature: str) -> bool:
    """Shopify signs the raw body: base64(HMAC-SHA256(body, shared secret))."""
    secret = settings.SHOPIFY_WEBHOOK_SECRET
    if not secret or not signature:
        return False
    expected = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    return hmac.compare_digest(expected, signature.strip())


def _body(request: HttpRequest) -> bytes | None:
    """The raw body, or None when it is over WEBHOOK_MAX_BYTES — found out before reading more than that."""
    limit = settings.WEBHOOK_MAX_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        return None
    body = request.read(limit + 1)
    return None if len(body) > limit else body


@csrf_exempt  # the shop cannot hold a CSRF token; the HMAC signature authenticates it instead
@require_POST
def shopify_order_webhook(request: HttpRequest, *, topic: str) -> JsonResponse:
    """Checks in order, each refusing with nothing written: size (413), content type (415), the topic header if
    sent (400), the signature (401), JSON (400), an order object (400); then the import, idempotent by order id
    and webhook id (a replayed delivery changes nothing)."""
    body = _body(request)
    if body is None:
        return JsonResponse({"error": f"the body is over {settings.WEBHOOK_MAX_BYTES} bytes"}, status=413)
    if request.content_type != "application/json":
        return JsonResponse({"error": "the body must be application/json"}, status=415)
    sent_topic = request.headers.get("X-Shopify-Topic")
    if sent_topic is not None and sent_topic != topic:
        return JsonResponse({"error": f"topic {sent_topic!r} is not handled here (this address takes {topic})"},
                            status=400)
    if not shopify_signature_valid(body=body, signature=request.headers.get("X-Shopify-Hmac-Sha256", "")):
        logger.warning("rejected %s webhook: bad or missing signature", topic)
        return JsonResponse({"error": "invalid webhook signature"}, status=401)
    try:
        payload = json.loads(body)
    except ValueError:
        return JsonResponse({"error": "the body is not JSON"}, status=400)
    if not isinstance(payload, dict):
        return JsonResponse({"error": "the body is not a JSON object (an order)"}, status=400)
    try:
        result = shopify_webhook_receive(
            topic=topic, payload=payload, webhook_id=request.headers.get("X-Shopify-Webhook-Id") or None
        )
    except ShopPayloadError as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    logger.info("shop webhook %s for order %s: %s", topic, payload.get("id"), result.outcome)
    return JsonResponse({
        "outcome": result.outcome,
        "order": result.order.name if result.order else None,
        "problems": result.problems,
    })


urlpatterns = [
    path("orders/create", shopify_order_webhook, {"topic": TOPIC_CREATE}, name="shopify-orders-create"),
    path("orders/updated", shopify_order_webhook, {"topic": TOPIC_UPDATED}, name="shopify-orders-updated"),
    path("orders/cancelled", shopify_order_webhook, {"topic": TOPIC_CANCELLED}, name="shopify-orders-cancelled"),
]
