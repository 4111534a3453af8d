"""Order approval: the checks a CREATED order must pass, and moving it and its lines into their queues."""

import logging
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from oms.core.history import record, transit
from oms.models import Order, OrderLine, OrderNote

logger = logging.getLogger(__name__)

PASSED_REASON = "Passed approval checks"
ADDRESS_FIELDS = ("address1", "city", "zip", "country_code")

# Without a product or a pickup store nothing can be routed, reserved or picked: not even operations
# staff can approve past these. Every other blocker is a business risk they may decide to take.
UNFULFILLABLE_CODES = frozenset({"UNKNOWN_SKU", "UNKNOWN_PICKUP_STORE", "NO_LINES"})
# Import problems that the line checks below re-derive from the current data, so a product or store
# set up after the import resolves them without waiting for the shop to send the order again.
REDERIVED_IMPORT_CODES = frozenset({"UNKNOWN_SKU", "UNKNOWN_PICKUP_STORE", "NO_LINES"})

QUEUE_FOR_KIND = {
    OrderLine.Kind.PRE_ORDER: OrderLine.Queue.PRE_ORDER,
    OrderLine.Kind.BACKORDER: OrderLine.Queue.BACKORDER,
}


class ApprovalError(ValueError):
    """The order cannot be approved (not CREATED, or a manual approval that cannot be fulfilled)."""


@dataclass
class HeldOrder:
    order_id: int
    name: str
    blockers: list[dict]


@dataclass
class ApprovalSummary:
    checked: int = 0
    approved: int = 0
    held: int = 0
    failed: int = 0
    held_orders: list[HeldOrder] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # "<order name>: <error>" for orders that raised

    def counts(self) -> dict:
        return {"checked": self.checked, "approved": self.approved, "held": self.held, "failed": self.failed}


def _blocker(code: str, message: str) -> dict:
    return {"code": code, "message": message}


def order_approval_blockers(*, order: Order, lines: list[OrderLine]) -> list[dict]:
    """Why the order may not be approved yet; an empty list means it passes.

    Only lines that are not canceled count. Reads `line.pickup_facility`, so pass lines with it
    selected (or accept one query per pickup line).
    """
    live = [line for line in lines if line.status != OrderLine.Status.CANCELED]
    pickup_lines = [line for line in live if line.is_pickup]
    ship_lines = [line for line in live if not line.is_pickup]
    blockers = []

    if not live:
        blockers.append(_blocker("NO_LINES", "The order has no lines left to fulfil."))

    payment = (order.payment_status or "").strip().lower()
    paid = {status.lower() for status in settings.APPROVAL_PAID_STATUSES}
    pickup_only = bool(live) and not ship_lines
    # Pickup orders may be paid at the counter.
    pays_at_pickup = pickup_only and settings.APPROVAL_PICKUP_ALLOWS_PENDING and payment == "pending"
    if payment not in paid and not pays_at_pickup:
        blockers.append(_blocker(
            "PAYMENT_NOT_CAPTURED",
            f"Payment status is {order.payment_status or 'empty'}; approval needs {' or '.join(sorted(paid))}.",
        ))

    hold_tags = {tag.strip().casefold() for tag in settings.APPROVAL_HOLD_TAGS}
    held_by = [tag for tag in order.tags if str(tag).strip().casefold() in hold_tags]
    if held_by:
        blockers.append(_blocker("HOLD_TAG", f"The order is tagged {', '.join(held_by)}."))

    if ship_lines:
        address = order.shipping_address or {}
        missing = [name for name in ADDRESS_FIELDS if not str(address.get(name) or "").strip()]
        if missing:
            blockers.append(_blocker(
                "INCOMPLETE_ADDRESS", f"The shipping address has no {', '.join(missing)}."
            ))

    for line in pickup_lines:
        label = f"Line {line.external_line_id} ({line.sku or 'no SKU'})"
        facility = line.pickup_facility
        if facility is None:
            blockers.append(_blocker(
                "UNKNOWN_PICKUP_STORE", f"{label}: pickup store {line.pickup_store_code} is not a known facility."
            ))
        elif not (facility.is_active and facility.offers_pickup):
            state = "is not active" if not facility.is_active else "does not offer pickup"
            blockers.append(_blocker("PICKUP_STORE_UNAVAILABLE", f"{label}: pickup store {facility.code} {state}."))

    for line in live:
        if line.product_id is None:
            what = f"SKU {line.sku} is not a known product" if line.sku else "has no SKU"
            blockers.append(_blocker("UNKNOWN_SKU", f"Line {line.external_line_id}: {what}."))

    for problem in order.problems:
        if problem.get("code") not in REDERIVED_IMPORT_CODES:
            blockers.append(_blocker(problem.get("code") or "IMPORT_PROBLEM", problem.get("message") or ""))
    return blockers


def order_approve(
    *, order_id: int, actor=None, reason: str = "", now: datetime | None = None, manual: bool = False
) -> Order:
    """Approve one order now; return it (check `status`: it stays CREATED when it was held).

    Automatic (manual=False): the order is approved when it passes every check, otherwise its
    blockers are stored and it stays CREATED; an order that is no longer CREATED is returned as is.
    Manual (an operations user taking responsibility): approved despite blockers, except those that
    make the order impossible to fulfil; raises ApprovalError for those, for a missing reason and for
    an order that is not CREATED.

    Locks the order row, then its lines in primary-key order.
    """
    now = now or timezone.now()
    if manual and not reason.strip():
        raise ApprovalError("A manual approval needs a reason.")
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order_id)
        if order.status != Order.Status.CREATED:
            if manual:
                raise ApprovalError(f"Order {order.name} is {order.status}: only CREATED orders can be approved.")
            return order
        lines = _lines_lock(order)
        blockers = order_approval_blockers(order=order, lines=lines)
        if not manual:
            _order_check_and_approve(order=order, lines=lines, blockers=blockers, actor=actor, now=now)
            return order
        unfulfillable = [blocker for blocker in blockers if blocker["code"] in UNFULFILLABLE_CODES]
        if unfulfillable:
            raise ApprovalError(
                f"Order {order.name} cannot be fulfilled: " + " ".join(b["message"] for b in unfulfillable)
            )
        if blockers:
            OrderNote.objects.create(
                order=order, actor=actor, at=now,
                text="Approved manually despite: " + " ".join(b["message"] for b in blockers),
            )
        _order_approve_locked(order=order, lines=lines, actor=actor, reason=reason.strip(), now=now)
    return order


def orders_approve_pending(*, now: datetime | None = None, batch_size: int = 200) -> ApprovalSummary:
    """Check every CREATED order and approve those that pass; the rest keep their reasons for next time.

    Each order is its own transaction, so one broken order never holds up the others, and a crash
    leaves every order either approved with its lines queued or untouched. An order another run (or
    an operations user) has locked is skipped rather than waited for: two runs at once never
    approve the same order twice, and the one skipped is checked again on the next run.
    """
    now = now or timezone.now()
    summary = ApprovalSummary()
    last_id = 0
    while True:
        ids = list(
            Order.objects.filter(status=Order.Status.CREATED, pk__gt=last_id)
            .order_by("pk").values_list("pk", flat=True)[:batch_size]
        )
        if not ids:
            break
        last_id = ids[-1]
        for order_id in ids:
            try:
                _pending_order_approve(order_id=order_id, now=now, summary=summary)
            except Exception as exc:  # one bad order must not stop the run; it is retried next time
                logger.exception("approval of order %s failed", order_id)
                summary.failed += 1
                summary.errors.append(f"order {order_id}: {exc}")
    return summary


def _pending_order_approve(*, order_id: int, now: datetime, summary: ApprovalSummary) -> None:
    with transaction.atomic():
        order = (
            Order.objects.select_for_update(skip_locked=True)
            .filter(pk=order_id, status=Order.Status.CREATED).first()
        )
        if order is None:  # approved or canceled meanwhile, or being handled by someone else right now
            return
        lines = _lines_lock(order)
        blockers = order_approval_blockers(order=order, lines=lines)
        summary.checked += 1
        _order_check_and_approve(order=order, lines=lines, blockers=blockers, actor=None, now=now)
    if blockers:
        summary.held += 1
        summary.held_orders.append(HeldOrder(order_id=order.pk, name=order.name, blockers=blockers))
    else:
        summary.approved += 1


def _lines_lock(order: Order) -> list[OrderLine]:
    return list(
        OrderLine.objects.filter(order=order).select_related("pickup_facility")
        .order_by("pk").select_for_update(of=("self",))
    )


def _order_check_and_approve(
    *, order: Order, lines: list[OrderLine], blockers: list[dict], actor, now: datetime
) -> None:
    """Approve the locked order when nothing blocks it; otherwise store why not.

    A timeline note is written only when the reasons differ from the last run's, so an order waiting
    days for its payment gets one note, not one a minute.
    """
    if not blockers:
        _order_approve_locked(order=order, lines=lines, actor=actor, reason=PASSED_REASON, now=now)
        return
    if blockers == order.approval_blockers:
        return
    order.approval_blockers = blockers
    order.save(update_fields=["approval_blockers"])
    OrderNote.objects.create(
        order=order, actor=actor, at=now, text="Not approved: " + " ".join(b["message"] for b in blockers)
    )


def _order_approve_locked(*, order: Order, lines: list[OrderLine], actor, reason: str, now: datetime) -> None:
    """CREATED → APPROVED, and every line waiting for approval into its queue.

    Expects the order and its lines locked by the caller's transaction.
    """
    entries = [transit(order, "approve", actor=actor, reason=reason, at=now)]
    order.approved_at = now
    order.approval_blockers = []
    order.save(update_fields=["status", "approved_at", "approval_blockers"])

    waiting = [line for line in lines if line.status == OrderLine.Status.CREATED]
    for line in waiting:
        entries.append(transit(line, "enqueue", actor=actor, reason=reason, at=now))
        line.queue = QUEUE_FOR_KIND.get(line.kind, OrderLine.Queue.BROKERING)
        line.queued_at = now
    if waiting:
        OrderLine.objects.bulk_update(waiting, ["status", "queue", "queued_at"])
    record(entries)
