"""Reading Shopify's order JSON: the order and its lines as Storefill needs them, with every problem found
(unknown pickup store, bad promise date, …) recorded instead of refused; only JSON that is not an order at all
raises ShopPayloadError."""

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from oms.models import OrderLine, ShopWebhook

CHANNEL = "shopify"
TOPIC_CREATE = "orders/create"
TOPIC_UPDATED = "orders/updated"
TOPIC_CANCELLED = "orders/cancelled"
TOPICS = (TOPIC_CREATE, TOPIC_UPDATED, TOPIC_CANCELLED)

PICKUP_STORE_PROPERTY = "_pickupstore"
KIND_PROPERTIES = (("_preorder", OrderLine.Kind.PRE_ORDER), ("_backorder", OrderLine.Kind.BACKORDER))
PICKUP_SHIPPING_CODE = "pickup"
PICKUP_STORE_ATTRIBUTE = "pickup_store"
# A pre-/backorder property may carry a flag instead of a date ("_preorder: true").
FLAG_VALUES = {"", "true", "yes", "1", "on"}


class ShopPayloadError(ValueError):
    """The body is not an order we can store (no id, line items that are not line items, …)."""


# --- Reading Shopify's order JSON ----------------------------------------------------------------


@dataclass
class LineData:
    external_line_id: str
    sku: str
    title: str
    quantity: int
    unit_price: Decimal
    kind: str
    promise_date: date | None
    pickup_store_code: str


@dataclass
class OrderData:
    external_id: str
    name: str
    email: str
    phone: str
    customer_name: str
    shipping_address: dict
    billing_address: dict
    payment_status: str
    tags: list[str]
    currency: str
    total_price: Decimal
    ordered_at: datetime | None
    shop_updated_at: datetime | None
    lines: list[LineData]
    problems: list[dict]  # found while reading (bad promise date, pickup without a store)


def order_data(payload: dict) -> OrderData:
    problems: list[dict] = []
    customer = payload.get("customer") or {}
    shipping_address = dict_of(payload.get("shipping_address"), "shipping_address")
    billing_address = dict_of(payload.get("billing_address"), "billing_address")
    order_pickup_store = pickup_store_of(payload, problems)
    name_parts = [customer.get("first_name"), customer.get("last_name")] if isinstance(customer, dict) else []
    customer_name = " ".join(str(part).strip() for part in name_parts if part) or (
        shipping_address.get("name") or billing_address.get("name") or ""
    )
    raw_lines = payload.get("line_items") or []
    if not isinstance(raw_lines, list):
        raise ShopPayloadError("line_items must be a list")
    lines = [line_data(raw, order_pickup_store, problems) for raw in raw_lines]
    if not any(line.quantity for line in lines):
        problems.append(problem("NO_LINES", "The order has no line items with a quantity."))
    currency = str(payload.get("currency") or "")
    if len(currency) > 3:
        raise ShopPayloadError(f"currency {currency!r} is not an ISO 4217 code")
    return OrderData(
        external_id=external_id_of(payload),
        name=text_of(str(payload.get("name") or f"#{payload['id']}"), 64, "name"),
        email=text_of(str(payload.get("email") or payload.get("contact_email") or value_of(customer, "email") or ""),
                      254, "email"),
        phone=str(payload.get("phone") or value_of(customer, "phone") or shipping_address.get("phone") or "")[:40],
        customer_name=str(customer_name)[:200],
        shipping_address=shipping_address,
        billing_address=billing_address,
        payment_status=text_of(str(payload.get("financial_status") or ""), 32, "financial_status"),
        tags=tags_of(payload.get("tags")),
        currency=currency,
        total_price=decimal_of(payload.get("total_price"), "total_price"),
        ordered_at=datetime_of(payload.get("created_at")),
        shop_updated_at=datetime_of(payload.get("updated_at")),
        lines=lines,
        problems=problems,
    )


def line_data(raw, order_pickup_store: str, problems: list[dict]) -> LineData:
    """One line item; its quantity is 0 when the shop has removed all of its units."""
    if not isinstance(raw, dict) or raw.get("id") in (None, ""):
        raise ShopPayloadError("every line item needs an id")
    external_line_id = text_of(str(raw["id"]), 64, "line item id")
    # current_quantity is what is left after edits in the shop; quantity is what was first ordered.
    quantity = raw["current_quantity"] if raw.get("current_quantity") is not None else raw.get("quantity")
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0:
        raise ShopPayloadError(f"line item {external_line_id}: quantity must be a whole number")
    properties = name_values(raw.get("properties"))
    sku = text_of(str(raw.get("sku") or "").strip(), 64, f"line item {external_line_id} sku")
    kind, promise_date = OrderLine.Kind.STANDARD, None
    for name, line_kind in KIND_PROPERTIES:
        if name in properties:
            kind = line_kind
            promise_date = promise_date_of(properties[name], sku=sku, line_id=external_line_id, problems=problems)
            break
    return LineData(
        external_line_id=external_line_id,
        sku=sku,
        title=str(raw.get("title") or raw.get("name") or "")[:200],
        quantity=quantity,
        unit_price=decimal_of(raw.get("price"), f"line item {external_line_id} price"),
        kind=kind,
        promise_date=promise_date,
        pickup_store_code=(properties.get(PICKUP_STORE_PROPERTY) or order_pickup_store)[:32],
    )


def pickup_store_of(payload: dict, problems: list[dict]) -> str:
    """The pickup store chosen at checkout for the whole order ("" when it ships)."""
    shipping_lines = payload.get("shipping_lines") or []
    is_pickup = any(
        isinstance(line, dict) and str(line.get("code") or "").strip().lower() == PICKUP_SHIPPING_CODE
        for line in (shipping_lines if isinstance(shipping_lines, list) else [])
    )
    if not is_pickup:
        return ""
    store = name_values(payload.get("note_attributes")).get(PICKUP_STORE_ATTRIBUTE, "")
    if not store:
        problems.append(problem(
            "MISSING_PICKUP_STORE",
            f"The order is for pickup but names no store (note attribute {PICKUP_STORE_ATTRIBUTE!r}).",
        ))
    return store


def promise_date_of(value: str, *, sku: str, line_id: str, problems: list[dict]) -> date | None:
    if value.lower() in FLAG_VALUES:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        problems.append(problem(
            "BAD_PROMISE_DATE", f"Line {line_id} ({sku or 'no SKU'}): promise date {value!r} is not YYYY-MM-DD."
        ))
        return None


def name_values(items) -> dict[str, str]:
    """Shopify's [{"name": …, "value": …}] lists (line properties, note attributes) as a dict."""
    if isinstance(items, dict):
        items = [{"name": key, "value": value} for key, value in items.items()]
    if not isinstance(items, list):
        return {}
    return {
        str(item.get("name")): str(item.get("value") if item.get("value") is not None else "").strip()
        for item in items if isinstance(item, dict) and item.get("name")
    }


def tags_of(value) -> list[str]:
    """Shopify sends tags as one comma-separated string."""
    parts = value if isinstance(value, list) else str(value or "").split(",")
    return list(dict.fromkeys(str(tag).strip() for tag in parts if str(tag).strip()))


def external_id_of(payload: dict) -> str:
    value = payload.get("id")
    if value is None or isinstance(value, bool) or str(value).strip() == "":
        raise ShopPayloadError("the order has no id")
    return text_of(str(value).strip(), 64, "id")


def webhook_id_of(*, topic: str, payload: dict, webhook_id: str | None) -> str:
    if not webhook_id:
        # Without Shopify's delivery id, the same body on the same topic is the same delivery.
        body = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
        return f"{topic}:{hashlib.sha256(body.encode()).hexdigest()}"
    if len(webhook_id) > ShopWebhook._meta.get_field("webhook_id").max_length:
        return f"sha256:{hashlib.sha256(webhook_id.encode()).hexdigest()}"
    return webhook_id


def text_of(value: str, max_length: int, what: str) -> str:
    if len(value) > max_length:
        raise ShopPayloadError(f"{what} is longer than {max_length} characters")
    return value


def dict_of(value, what: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ShopPayloadError(f"{what} must be an object")
    return value


def value_of(value, key: str):
    return value.get(key) if isinstance(value, dict) else None


def decimal_of(value, what: str) -> Decimal:
    if value in (None, ""):
        return Decimal("0")
    try:
        number = Decimal(str(value))
    except InvalidOperation as exc:
        raise ShopPayloadError(f"{what} {value!r} is not a number") from exc
    if not number.is_finite() or abs(number) >= 10**10:
        raise ShopPayloadError(f"{what} {value!r} is out of range")
    return number.quantize(Decimal("0.01"))


def datetime_of(value) -> datetime | None:
    try:
        parsed = parse_datetime(str(value)) if value else None
    except ValueError:
        return None
    if parsed is not None and timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed, UTC)
    return parsed


def problem(code: str, message: str) -> dict:
    return {"code": code, "message": message}
