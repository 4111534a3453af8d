"""The safety net under the shop's webhooks: pull the orders Shopify changed since the last pull.

Shopify retries a webhook for a while and then gives up; an order whose webhooks were all lost would never reach
us. `shop_orders_pull` (the `pull_shop_orders` task, every SHOPIFY_PULL_SECONDS, and `manage.py pull_shop_orders`)
asks the Admin GraphQL API for the orders updated since the last successful pull (minus an overlap), page by page,
turns each into the JSON a webhook would carry, and hands it to the webhook import code
(`oms.shop.importer.shopify_webhook_receive`, as orders/updated — which creates an order it does not know — and
orders/cancelled for a cancelled one). Each order version is a delivery with its own id (`pull:<id>:<updatedAt>`),
so pulling the same window twice, or an order the webhook already brought, changes nothing. Every pull is a
`ShopPull` row: the window, how many orders it found, created and updated, or its error.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, transaction
from django.utils import timezone

from oms.models import ShopPull
from oms.outbox.adapters import DeliveryError
from oms.shop.importer import shopify_webhook_receive
from oms.shop.payload import TOPIC_CANCELLED, TOPIC_UPDATED, ShopPayloadError
from oms.shop.shopify import ShopifyClient, gid_number, shopify_client

ORDERS_UPDATED = """
query StorefillOrdersUpdated($first: Int!, $after: String, $query: String!) {
  orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {
    pageInfo { hasNextPage endCursor }
    nodes {
      id legacyResourceId name email phone createdAt updatedAt cancelledAt cancelReason
      displayFinancialStatus tags currencyCode
      totalPriceSet { shopMoney { amount } }
      customer { firstName lastName email phone }
      shippingAddress { name address1 address2 city zip province provinceCode countryCodeV2 phone latitude longitude }
      billingAddress { name address1 address2 city zip province provinceCode countryCodeV2 phone }
      customAttributes { key value }
      shippingLines(first: 5) { nodes { code title } }
      lineItems(first: 250) {
        nodes {
          id sku title name quantity currentQuantity
          originalUnitPriceSet { shopMoney { amount } }
          customAttributes { key value }
        }
      }
    }
  }
}
"""

PAGE_SIZE = 50
PULL_STALE = timedelta(minutes=30)


class PullError(Exception):
    """The pull could not run (not configured, or another pull is running)."""


@dataclass
class PullPage:
    orders: list[dict]
    cursor: str | None
    more: bool


def shop_orders_pull(*, now: datetime | None = None, client: ShopifyClient | None = None) -> ShopPull:
    """Pull the orders updated since the last successful pull and import them (see the module docstring).

    Returns the pull's record (status OK or FAILED with its error). Raises PullError when Shopify is not
    configured or a pull is already running.
    """
    now = now or timezone.now()
    try:
        client = client or shopify_client()
    except ImproperlyConfigured as exc:
        raise PullError(f"{exc}: set them to pull orders from Shopify") from exc
    # A pull whose worker died keeps RUNNING: after PULL_STALE it no longer blocks the next one.
    ShopPull.objects.filter(status=ShopPull.Status.RUNNING, started_at__lt=now - PULL_STALE).update(
        status=ShopPull.Status.FAILED, error="abandoned: its worker stopped", finished_at=now)
    last = ShopPull.objects.filter(status=ShopPull.Status.OK).order_by("-until", "-pk").first()
    since = (last.until - timedelta(seconds=settings.SHOPIFY_PULL_OVERLAP_SECONDS)) if last else (
        now - timedelta(hours=settings.SHOPIFY_PULL_FIRST_HOURS))
    try:
        with transaction.atomic():
            pull = ShopPull.objects.create(started_at=now, since=since, until=since, status=ShopPull.Status.RUNNING)
    except IntegrityError as exc:  # one RUNNING pull at a time (a unique constraint)
        raise PullError("a pull of shop orders is running already") from exc
    newest = since
    try:
        cursor, more = None, True
        while more:
            page = _page(client, since=since, cursor=cursor)
            for node in page.orders:
                outcome = shop_order_import(node, now=now)
                pull.found += 1
                if outcome == "created":
                    pull.created += 1
                elif outcome in ("updated", "canceled"):
                    pull.updated += 1
                updated_at = _when(node.get("updatedAt"))
                if updated_at and updated_at > newest:
                    newest = updated_at
            cursor, more = page.cursor, page.more
            pull.save(update_fields=["found", "created", "updated"])
    except (DeliveryError, ShopPayloadError, KeyError, TypeError, ValueError) as exc:
        pull.status, pull.error = ShopPull.Status.FAILED, f"{type(exc).__name__}: {exc}"[:2000]
    else:
        pull.status = ShopPull.Status.OK
    pull.until = newest if pull.status == ShopPull.Status.OK else since
    pull.finished_at = timezone.now()
    pull.save(update_fields=["status", "error", "until", "finished_at", "found", "created", "updated"])
    return pull


def shop_order_import(node: dict, *, now: datetime) -> str:
    """Import one pulled order through the webhook code; returns its outcome ("created", "updated", "duplicate"…)."""
    payload = order_payload(node)
    version = node.get("updatedAt") or ""
    result = shopify_webhook_receive(topic=TOPIC_UPDATED, payload=payload, webhook_id=f"pull:{payload['id']}:{version}",
                                     now=now)
    if node.get("cancelledAt"):
        cancelled = shopify_webhook_receive(topic=TOPIC_CANCELLED, payload=payload,
                                            webhook_id=f"pull-cancel:{payload['id']}", now=now)
        if cancelled.outcome == "canceled":
            return "canceled"
    return result.outcome


def order_payload(node: dict) -> dict:
    """A GraphQL order as the REST-shaped JSON of an orders/* webhook (the fields the import code reads)."""
    customer = node.get("customer") or {}
    return {
        "id": int(node.get("legacyResourceId") or gid_number(node["id"])),
        "name": node.get("name"),
        "email": node.get("email") or customer.get("email"),
        "phone": node.get("phone"),
        "created_at": node.get("createdAt"),
        "updated_at": node.get("updatedAt"),
        "cancelled_at": node.get("cancelledAt"),
        "cancel_reason": (node.get("cancelReason") or "").lower() or None,
        "financial_status": (node.get("displayFinancialStatus") or "").lower(),
        "tags": ", ".join(node.get("tags") or []),
        "currency": node.get("currencyCode") or "",
        "total_price": ((node.get("totalPriceSet") or {}).get("shopMoney") or {}).get("amount"),
        "customer": {"first_name": customer.get("firstName"), "last_name": customer.get("lastName"),
                     "email": customer.get("email"), "phone": customer.get("phone")} if customer else None,
        "shipping_address": _address(node.get("shippingAddress")),
        "billing_address": _address(node.get("billingAddress")),
        "note_attributes": [{"name": a["key"], "value": a["value"]} for a in node.get("customAttributes") or []],
        "shipping_lines": [{"code": line.get("code"), "title": line.get("title")}
                           for line in (node.get("shippingLines") or {}).get("nodes") or []],
        "line_items": [{
            "id": int(gid_number(item["id"])),
            "sku": item.get("sku") or "",
            "title": item.get("title") or item.get("name") or "",
            "quantity": item.get("quantity"),
            "current_quantity": item.get("currentQuantity"),
            "price": ((item.get("originalUnitPriceSet") or {}).get("shopMoney") or {}).get("amount"),
            "properties": [{"name": a["key"], "value": a["value"]} for a in item.get("customAttributes") or []],
        } for item in (node.get("lineItems") or {}).get("nodes") or []],
    }


def _address(address: dict | None) -> dict | None:
    if not address:
        return None
    return {"name": address.get("name"), "address1": address.get("address1"), "address2": address.get("address2"),
            "city": address.get("city"), "zip": address.get("zip"), "province": address.get("province"),
            "province_code": address.get("provinceCode"), "country_code": address.get("countryCodeV2"),
            "phone": address.get("phone"), "latitude": address.get("latitude"), "longitude": address.get("longitude")}


def _page(client: ShopifyClient, *, since: datetime, cursor: str | None) -> PullPage:
    search = f"updated_at:>='{since.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}'"
    data = client.run(ORDERS_UPDATED, {"first": PAGE_SIZE, "after": cursor, "query": search},
                      operation="StorefillOrdersUpdated")
    orders = data["orders"]
    return PullPage(orders=orders["nodes"], cursor=orders["pageInfo"]["endCursor"],
                    more=bool(orders["pageInfo"]["hasNextPage"]))


def _when(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
