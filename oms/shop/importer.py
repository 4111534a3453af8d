"""Orders from the shop: Shopify order webhooks (create, updated, cancelled) turned into orders and lines."""

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from oms.core.erp_records import erp_order_payload
from oms.models import Order, OrderLine, OrderNote, OutboxMessage, Product, ShopWebhook
from oms.orders.cancel import order_cancel
from oms.orders.cancellations import order_line_reduce
from oms.outbox.messages import outbox_write
from stores.models import Facility

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


@dataclass
class ImportResult:
    outcome: str  # "created" | "duplicate" | "updated" | "canceled" | "cancel-remembered" | "ignored"
    order: Order | None
    problems: list[dict] = field(default_factory=list)  # [{"code": "UNKNOWN_SKU", "message": "..."}]

    @property
    def held(self) -> bool:
        """The order is stored but cannot go on until its problems are fixed."""
        return self.order is not None and bool(self.problems)


def shopify_webhook_receive(
    *, topic: str, payload: dict, webhook_id: str | None, now: datetime | None = None
) -> ImportResult:
    """Apply one order webhook from the shop, exactly once.

    A delivery seen before (same webhook id; without one, the same topic and body) changes nothing,
    and neither does an orders/create for an order we already have. Raises ShopPayloadError (and
    stores nothing) when the payload is not an order.
    """
    if topic not in TOPICS:
        raise ValueError(f"unknown webhook topic {topic!r}")
    if not isinstance(payload, dict):
        raise ShopPayloadError("the body must be a JSON object")
    external_id = _external_id(payload)
    now = now or timezone.now()
    webhook_id = _webhook_id(topic=topic, payload=payload, webhook_id=webhook_id)

    with transaction.atomic():
        _lock_shop_order(external_id)
        delivery = ShopWebhook(
            webhook_id=webhook_id, topic=topic, external_order_id=external_id, payload=payload, received_at=now
        )
        try:
            with transaction.atomic():
                delivery.save()
        except IntegrityError:
            return _result("duplicate", _order_get(external_id))

        if topic == TOPIC_CREATE:
            result = _receive_create(payload=payload, external_id=external_id, now=now)
        elif topic == TOPIC_UPDATED:
            result = _receive_updated(payload=payload, external_id=external_id, now=now)
        else:
            result = _receive_cancelled(payload=payload, external_id=external_id, now=now)

        delivery.result = result.outcome
        delivery.applied_at = None if result.outcome == "cancel-remembered" else now
        delivery.save(update_fields=["result", "applied_at"])
    return result


# --- Deliveries ----------------------------------------------------------------------------------


def _receive_create(*, payload: dict, external_id: str, now: datetime) -> ImportResult:
    existing = _order_get(external_id, lock=True)
    if existing is not None:
        return _result("duplicate", existing)
    data = _order_data(payload)
    try:
        with transaction.atomic():
            order = _order_create(data=data, payload=payload, now=now)
    except IntegrityError:
        # Another delivery of this order committed first (possible where no advisory lock is taken).
        return _result("duplicate", _order_get(external_id))
    _remembered_cancel_apply(order=order, now=now)
    return _result("created", order)


def _receive_updated(*, payload: dict, external_id: str, now: datetime) -> ImportResult:
    order = _order_get(external_id, lock=True)
    if order is None:
        # The create was lost or arrives later: the update carries the whole order, so import it.
        return _receive_create(payload=payload, external_id=external_id, now=now)
    data = _order_data(payload)
    if data.shop_updated_at and order.shop_updated_at and data.shop_updated_at < order.shop_updated_at:
        return _result("ignored", order)  # an older version delivered out of order

    notes: list[str] = []
    lines = list(OrderLine.objects.filter(order=order).order_by("pk").select_for_update(of=("self",)))
    if order.status == Order.Status.CREATED:
        notes += _approval_fields_refresh(order=order, data=data, lines=lines)
    notes += _quantity_reductions_apply(order=order, data=data, lines=lines, now=now)
    if data.shop_updated_at:
        order.shop_updated_at = max(filter(None, [order.shop_updated_at, data.shop_updated_at]))
    order.raw = payload
    order.save(update_fields=[
        "payment_status", "tags", "email", "shipping_address", "billing_address", "problems", "pending_changes",
        "shop_updated_at", "raw",
    ])
    OrderNote.objects.bulk_create([OrderNote(order=order, text=text, at=now) for text in notes])
    return _result("updated", order)


def _receive_cancelled(*, payload: dict, external_id: str, now: datetime) -> ImportResult:
    order = _order_get(external_id, lock=True)
    if order is None:
        # Shopify does not guarantee order: keep the cancellation until the order arrives.
        return ImportResult("cancel-remembered", None, [])
    order = order_cancel(order_id=order.pk, reason=_shop_cancel_reason(payload), now=now, notify_shop=False)
    return _result("canceled", order)


def _remembered_cancel_apply(*, order: Order, now: datetime) -> None:
    """Apply a cancellation that arrived before its order (the order is then canceled at once)."""
    remembered = list(
        ShopWebhook.objects.filter(
            topic=TOPIC_CANCELLED, external_order_id=order.external_id, applied_at__isnull=True
        ).order_by("pk").select_for_update()
    )
    if not remembered:
        return
    order_cancel(order_id=order.pk, reason=_shop_cancel_reason(remembered[0].payload), now=now, notify_shop=False)
    order.refresh_from_db()
    ShopWebhook.objects.filter(pk__in=[row.pk for row in remembered]).update(applied_at=now, result="canceled")


def _shop_cancel_reason(payload: dict) -> str:
    reason = payload.get("cancel_reason")
    return f"Canceled in the shop: {reason}" if reason else "Canceled in the shop"


# --- Reading Shopify's order JSON ----------------------------------------------------------------


@dataclass
class _LineData:
    external_line_id: str
    sku: str
    title: str
    quantity: int
    unit_price: Decimal
    kind: str
    promise_date: date | None
    pickup_store_code: str


@dataclass
class _OrderData:
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
    lines: list[_LineData]
    problems: list[dict]  # found while reading (bad promise date, pickup without a store)


def _order_data(payload: dict) -> _OrderData:
    problems: list[dict] = []
    customer = payload.get("customer") or {}
    shipping_address = _dict(payload.get("shipping_address"), "shipping_address")
    billing_address = _dict(payload.get("billing_address"), "billing_address")
    order_pickup_store = _order_pickup_store(payload, problems)
    name_parts = [customer.get("first_name"), customer.get("last_name")] if isinstance(customer, dict) else []
    customer_name = " ".join(str(part).strip() for part in name_parts if part) or (
        shipping_address.get("name") or billing_address.get("name") or ""
    )
    raw_lines = payload.get("line_items") or []
    if not isinstance(raw_lines, list):
        raise ShopPayloadError("line_items must be a list")
    lines = [_line_data(raw, order_pickup_store, problems) for raw in raw_lines]
    if not any(line.quantity for line in lines):
        problems.append(_problem("NO_LINES", "The order has no line items with a quantity."))
    currency = str(payload.get("currency") or "")
    if len(currency) > 3:
        raise ShopPayloadError(f"currency {currency!r} is not an ISO 4217 code")
    return _OrderData(
        external_id=_external_id(payload),
        name=_text(str(payload.get("name") or f"#{payload['id']}"), 64, "name"),
        email=_text(str(payload.get("email") or payload.get("contact_email") or _get(customer, "email") or ""), 254,
                    "email"),
        phone=str(payload.get("phone") or _get(customer, "phone") or shipping_address.get("phone") or "")[:40],
        customer_name=str(customer_name)[:200],
        shipping_address=shipping_address,
        billing_address=billing_address,
        payment_status=_text(str(payload.get("financial_status") or ""), 32, "financial_status"),
        tags=_tags(payload.get("tags")),
        currency=currency,
        total_price=_decimal(payload.get("total_price"), "total_price"),
        ordered_at=_datetime(payload.get("created_at")),
        shop_updated_at=_datetime(payload.get("updated_at")),
        lines=lines,
        problems=problems,
    )


def _line_data(raw, order_pickup_store: str, problems: list[dict]) -> _LineData:
    """One line item; its quantity is 0 when the shop has removed all of its units."""
    if not isinstance(raw, dict) or raw.get("id") in (None, ""):
        raise ShopPayloadError("every line item needs an id")
    external_line_id = _text(str(raw["id"]), 64, "line item id")
    # current_quantity is what is left after edits in the shop; quantity is what was first ordered.
    quantity = raw["current_quantity"] if raw.get("current_quantity") is not None else raw.get("quantity")
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0:
        raise ShopPayloadError(f"line item {external_line_id}: quantity must be a whole number")
    properties = _name_values(raw.get("properties"))
    sku = _text(str(raw.get("sku") or "").strip(), 64, f"line item {external_line_id} sku")
    kind, promise_date = OrderLine.Kind.STANDARD, None
    for name, line_kind in KIND_PROPERTIES:
        if name in properties:
            kind = line_kind
            promise_date = _promise_date(properties[name], sku=sku, line_id=external_line_id, problems=problems)
            break
    return _LineData(
        external_line_id=external_line_id,
        sku=sku,
        title=str(raw.get("title") or raw.get("name") or "")[:200],
        quantity=quantity,
        unit_price=_decimal(raw.get("price"), f"line item {external_line_id} price"),
        kind=kind,
        promise_date=promise_date,
        pickup_store_code=(properties.get(PICKUP_STORE_PROPERTY) or order_pickup_store)[:32],
    )


def _order_pickup_store(payload: dict, problems: list[dict]) -> str:
    """The pickup store chosen at checkout for the whole order ("" when it ships)."""
    shipping_lines = payload.get("shipping_lines") or []
    is_pickup = any(
        isinstance(line, dict) and str(line.get("code") or "").strip().lower() == PICKUP_SHIPPING_CODE
        for line in (shipping_lines if isinstance(shipping_lines, list) else [])
    )
    if not is_pickup:
        return ""
    store = _name_values(payload.get("note_attributes")).get(PICKUP_STORE_ATTRIBUTE, "")
    if not store:
        problems.append(_problem(
            "MISSING_PICKUP_STORE",
            f"The order is for pickup but names no store (note attribute {PICKUP_STORE_ATTRIBUTE!r}).",
        ))
    return store


def _promise_date(value: str, *, sku: str, line_id: str, problems: list[dict]) -> date | None:
    if value.lower() in FLAG_VALUES:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        problems.append(_problem(
            "BAD_PROMISE_DATE", f"Line {line_id} ({sku or 'no SKU'}): promise date {value!r} is not YYYY-MM-DD."
        ))
        return None


def _name_values(items) -> dict[str, str]:
    """Shopify's [{"name": …, "value": …}] lists (line properties, note attributes) as a dict."""
    if isinstance(items, dict):
        items = [{"name": key, "value": value} for key, value in items.items()]
    if not isinstance(items, list):
        return {}
    return {
        str(item.get("name")): str(item.get("value") if item.get("value") is not None else "").strip()
        for item in items if isinstance(item, dict) and item.get("name")
    }


def _tags(value) -> list[str]:
    """Shopify sends tags as one comma-separated string."""
    parts = value if isinstance(value, list) else str(value or "").split(",")
    return list(dict.fromkeys(str(tag).strip() for tag in parts if str(tag).strip()))


def _external_id(payload: dict) -> str:
    value = payload.get("id")
    if value is None or isinstance(value, bool) or str(value).strip() == "":
        raise ShopPayloadError("the order has no id")
    return _text(str(value).strip(), 64, "id")


def _webhook_id(*, topic: str, payload: dict, webhook_id: str | None) -> str:
    if not webhook_id:
        # Without Shopify's delivery id, the same body on the same topic is the same delivery.
        body = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
        return f"{topic}:{hashlib.sha256(body.encode()).hexdigest()}"
    if len(webhook_id) > ShopWebhook._meta.get_field("webhook_id").max_length:
        return f"sha256:{hashlib.sha256(webhook_id.encode()).hexdigest()}"
    return webhook_id


def _text(value: str, max_length: int, what: str) -> str:
    if len(value) > max_length:
        raise ShopPayloadError(f"{what} is longer than {max_length} characters")
    return value


def _dict(value, what: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ShopPayloadError(f"{what} must be an object")
    return value


def _get(value, key: str):
    return value.get(key) if isinstance(value, dict) else None


def _decimal(value, what: str) -> Decimal:
    if value in (None, ""):
        return Decimal("0")
    try:
        number = Decimal(str(value))
    except InvalidOperation as exc:
        raise ShopPayloadError(f"{what} {value!r} is not a number") from exc
    if not number.is_finite() or abs(number) >= 10**10:
        raise ShopPayloadError(f"{what} {value!r} is out of range")
    return number.quantize(Decimal("0.01"))


def _datetime(value) -> datetime | None:
    try:
        parsed = parse_datetime(str(value)) if value else None
    except ValueError:
        return None
    if parsed is not None and timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed, UTC)
    return parsed


def _problem(code: str, message: str) -> dict:
    return {"code": code, "message": message}


# --- Writing orders ------------------------------------------------------------------------------


def _order_create(*, data: _OrderData, payload: dict, now: datetime) -> Order:
    products = _products_by_sku({line.sku for line in data.lines})
    facilities = _facilities_by_code({line.pickup_store_code for line in data.lines})
    order = Order.objects.create(
        external_id=data.external_id,
        channel=CHANNEL,
        name=data.name,
        email=data.email,
        phone=data.phone,
        customer_name=data.customer_name,
        shipping_address=data.shipping_address,
        billing_address=data.billing_address,
        payment_status=data.payment_status,
        tags=data.tags,
        currency=data.currency,
        total_price=data.total_price,
        ordered_at=data.ordered_at or now,
        received_at=now,
        shop_updated_at=data.shop_updated_at,
        raw=payload,
    )
    lines = OrderLine.objects.bulk_create([
        OrderLine(
            order=order,
            external_line_id=line.external_line_id,
            sku=line.sku,
            product=products.get(line.sku),
            title=line.title,
            quantity=line.quantity,
            unit_price=line.unit_price,
            kind=line.kind,
            promise_date=line.promise_date,
            pickup_store_code=line.pickup_store_code,
            pickup_facility=facilities.get(line.pickup_store_code),
        )
        for line in data.lines
        if line.quantity  # removed in the shop before we saw the order
    ])
    order.problems = data.problems + _line_problems(lines)
    if order.problems:
        order.save(update_fields=["problems"])
    # The ERP holds every order from the moment we do (docs/erp-feeds.md, orders export).
    outbox_write(kind="erp-order", destination=OutboxMessage.Destination.ERP, idempotency_key=f"erp-order:{order.pk}",
                 order=order, now=now, payload=erp_order_payload(order=order, lines=lines))
    return order


def _approval_fields_refresh(*, order: Order, data: _OrderData, lines: list[OrderLine]) -> list[str]:
    """Take over what approval depends on from the shop; return a timeline note for each change."""
    notes = []
    if order.payment_status != data.payment_status:
        notes.append(f"Payment status changed from {order.payment_status or 'none'} to {data.payment_status or 'none'}")
        order.payment_status = data.payment_status
    added = [tag for tag in data.tags if tag not in order.tags]
    removed = [tag for tag in order.tags if tag not in data.tags]
    if added or removed:
        changes = [f"{verb} {', '.join(tags)}" for verb, tags in (("added", added), ("removed", removed)) if tags]
        notes.append(f"Tags changed: {'; '.join(changes)}")
    order.tags = data.tags
    if order.email != data.email:
        notes.append(f"Email changed from {order.email or 'none'} to {data.email or 'none'}")
        order.email = data.email
    for attribute, label in (("shipping_address", "Shipping address"), ("billing_address", "Billing address")):
        new = getattr(data, attribute)
        if getattr(order, attribute) != new:
            notes.append(f"{label} changed from {_address_line(getattr(order, attribute))} to {_address_line(new)}")
            setattr(order, attribute, new)

    live = [line for line in lines if line.status != OrderLine.Status.CANCELED]
    notes += _lines_refresh(lines=live, data=data)
    order.problems = data.problems + _line_problems(live)
    return notes


def _lines_refresh(*, lines: list[OrderLine], data: _OrderData) -> list[str]:
    """Take over pickup store changes and resolve stores and products set up since the import."""
    notes = []
    by_line_id = {line.external_line_id: line for line in data.lines}
    for line in lines:
        incoming = by_line_id.get(line.external_line_id)
        if incoming is not None and incoming.pickup_store_code != line.pickup_store_code:
            notes.append(
                f"Pickup store of {line.sku or 'line ' + line.external_line_id} changed from "
                f"{line.pickup_store_code or 'none (ship)'} to {incoming.pickup_store_code or 'none (ship)'}"
            )
            line.pickup_store_code = incoming.pickup_store_code
    facilities = _facilities_by_code({line.pickup_store_code for line in lines})
    products = _products_by_sku({line.sku for line in lines if line.product_id is None})
    for line in lines:
        facility = facilities.get(line.pickup_store_code)
        line.pickup_facility = facility
        if line.product_id is None:
            line.product = products.get(line.sku)
        line.save(update_fields=["pickup_store_code", "pickup_facility", "product"])
    return notes


def _quantity_reductions_apply(*, order: Order, data: _OrderData, lines: list[OrderLine], now: datetime) -> list[str]:
    """Cancel the units the shop removed (order edits, partial cancellations: a lower current_quantity).

    `oms.orders.cancellations.order_line_reduce` does the work — not-yet-allocated units first, picked units to a
    put-back — and, the change coming from the shop, does not tell the shop back. What cannot be canceled
    because it is already fulfilled becomes an order problem. Returns a timeline note per reduction.
    """
    current: dict[str, int] = {}
    sku_of: dict[str, str] = {}
    for line in lines:
        if line.status != OrderLine.Status.CANCELED:
            current[line.external_line_id] = current.get(line.external_line_id, 0) + line.quantity
            sku_of[line.external_line_id] = line.sku
    notes = []
    for incoming in data.lines:
        line_id, quantity = incoming.external_line_id, incoming.quantity
        was = current.get(line_id)
        if was is None or quantity >= was:
            continue  # the same reduction delivered again finds nothing left to cancel
        reduced = order_line_reduce(order_id=order.pk, external_line_id=line_id, new_quantity=quantity,
                                    reason="Reduced in the shop", now=now, notify_shop=False)
        added = [problem for problem in reduced.problems
                 if problem not in order.problems and problem.get("code") == "REDUCTION_BELOW_FULFILLED"]
        order.problems = [*order.problems, *added]
        notes.append(f"Quantity of {sku_of[line_id] or 'line ' + line_id} reduced in the shop from {was} to "
                     f"{quantity}; the units above it are canceled")
    # Older versions kept reductions here for a later cancellation flow; they are applied now.
    order.pending_changes = []
    return notes


def _line_problems(lines: list[OrderLine]) -> list[dict]:
    problems = []
    for line in lines:
        label = f"Line {line.external_line_id}"
        if line.product_id is None:
            if line.sku:
                problems.append(_problem("UNKNOWN_SKU", f"{label}: SKU {line.sku} is not a known product."))
            else:
                problems.append(_problem("UNKNOWN_SKU", f"{label} ({line.title or 'untitled'}) has no SKU."))
        if line.pickup_store_code and line.pickup_facility_id is None:
            problems.append(_problem(
                "UNKNOWN_PICKUP_STORE", f"{label}: pickup store {line.pickup_store_code} is not a known facility."
            ))
    return problems


def _products_by_sku(skus: set[str]) -> dict[str, Product]:
    skus = {sku for sku in skus if sku}
    return {product.sku: product for product in Product.objects.filter(sku__in=skus)} if skus else {}


def _facilities_by_code(codes: set[str]) -> dict[str, Facility]:
    codes = {code for code in codes if code}
    return {facility.code: facility for facility in Facility.objects.filter(code__in=codes)} if codes else {}


def _address_line(address: dict) -> str:
    parts = [address.get(key) for key in ("address1", "city", "zip", "country_code")] if address else []
    return ", ".join(str(part) for part in parts if part) or "none"


def _order_get(external_id: str, *, lock: bool = False) -> Order | None:
    orders = Order.objects.filter(channel=CHANNEL, external_id=external_id)
    return (orders.select_for_update() if lock else orders).first()


def _result(outcome: str, order: Order | None) -> ImportResult:
    return ImportResult(outcome, order, list(order.problems) if order else [])


def _lock_shop_order(external_id: str) -> None:
    """Serialize every delivery for one shop order until the end of the transaction.

    Row locks cannot cover an order that does not exist yet: without this, a cancellation racing
    the order's creation could be remembered where the create never looks again. SQLite (the demo)
    already serializes writing transactions.
    """
    if connection.vendor != "postgresql":
        return
    digest = hashlib.sha256(f"shop-order:{CHANNEL}:{external_id}".encode()).digest()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [int.from_bytes(digest[:8], "big", signed=True)])
