"""Orders from the shop: Shopify order webhooks (create, updated, cancelled) turned into orders and lines."""

import hashlib
from dataclasses import dataclass, field
from datetime import datetime

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from oms.core.erp_records import erp_order_payload
from oms.models import Order, OrderLine, OrderNote, OutboxMessage, Product, ShopWebhook
from oms.orders.cancel import order_cancel
from oms.orders.cancellations import order_line_reduce
from oms.outbox.messages import outbox_write
from oms.shop.payload import (
    CHANNEL,
    TOPIC_CANCELLED,
    TOPIC_CREATE,
    TOPIC_UPDATED,
    TOPICS,
    OrderData,
    ShopPayloadError,
    external_id_of,
    order_data,
    problem,
    webhook_id_of,
)
from stores.models import Facility

# --- Receiving a delivery ------------------------------------------------------------------------


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
    external_id = external_id_of(payload)
    now = now or timezone.now()
    webhook_id = webhook_id_of(topic=topic, payload=payload, webhook_id=webhook_id)

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
    data = order_data(payload)
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
    data = order_data(payload)
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


# --- Writing orders ------------------------------------------------------------------------------


def _order_create(*, data: OrderData, payload: dict, now: datetime) -> Order:
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


def _approval_fields_refresh(*, order: Order, data: OrderData, lines: list[OrderLine]) -> list[str]:
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


def _lines_refresh(*, lines: list[OrderLine], data: OrderData) -> list[str]:
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


def _quantity_reductions_apply(*, order: Order, data: OrderData, lines: list[OrderLine], now: datetime) -> list[str]:
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
                problems.append(problem("UNKNOWN_SKU", f"{label}: SKU {line.sku} is not a known product."))
            else:
                problems.append(problem("UNKNOWN_SKU", f"{label} ({line.title or 'untitled'}) has no SKU."))
        if line.pickup_store_code and line.pickup_facility_id is None:
            problems.append(problem(
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
