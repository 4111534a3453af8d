"""Parked lines: moving them between queues, auto-cancelling expired unfillable lines, releasing waiting lines."""

import csv
import io
import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import IO

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from oms.core.history import record, transit
from oms.core.settle import order_settle
from oms.core.shop_messages import shop_lines_canceled
from oms.models import Order, OrderLine, OrderNote, RoutingRule
from stores.models import Facility, StockLevel

logger = logging.getLogger(__name__)

Queue = OrderLine.Queue
LineStatus = OrderLine.Status

EXPIRED_REASON = "not fillable in time"
# The same default a routing rule gives a line it parks, so a line parked by hand waits as long.
UNFILLABLE_AUTO_CANCEL_DAYS = RoutingRule._meta.get_field("auto_cancel_days").default
WAITING_QUEUES = (Queue.PRE_ORDER, Queue.BACKORDER)
ORDER_COLUMNS = ("order", "order_name")


class ParkingError(ValueError):
    """A parking move that cannot be made as asked (unknown queue, no reason, nothing to act on)."""


@dataclass
class MoveReport:
    """What a bulk move did: per order the lines moved, and every name, line or row it could not use."""

    moved: list[tuple[str, int]] = field(default_factory=list)  # (order name, lines moved)
    not_found: list[str] = field(default_factory=list)  # order names (or "line <id>") that do not exist
    not_in_queue: list[str] = field(default_factory=list)  # known, but nothing of it waits in the source queue
    bad_rows: list[tuple[int, str]] = field(default_factory=list)  # (row number in the file, message)

    @property
    def lines_moved(self) -> int:
        return sum(count for _, count in self.moved)

    def text_lines(self) -> list[str]:
        """The report in words, one line each, for a command or a page."""
        out = [f"moved {self.lines_moved} line(s) of {len(self.moved)} order(s)"]
        out += [f"  {name}: {count} line(s) moved" for name, count in self.moved]
        out += [f"  not found: {name}" for name in self.not_found]
        out += [f"  nothing to move: {name}" for name in self.not_in_queue]
        out += [f"  row {number}: {message}" for number, message in self.bad_rows]
        return out


# --- auto-cancel --------------------------------------------------------------------------------


def unfillable_cancel_expired(*, now: datetime | None = None, batch_size: int = 200) -> int:
    """Cancel the UNFILLABLE lines whose auto-cancel date has come; return how many were canceled.

    Per order, in its own transaction: the lines are canceled, the shop gets one "lines-canceled"
    message, and an order with nothing left open is settled (CANCELED, or COMPLETED when some lines
    were fulfilled). UNFILLABLE_HOLD lines are never touched. An order locked by someone else is
    skipped and caught on the next run; running twice cancels nothing twice.
    """
    now = now or timezone.now()
    expired = OrderLine.objects.filter(status=LineStatus.QUEUED, queue=Queue.UNFILLABLE, auto_cancel_at__lte=now)
    canceled = 0
    for order_id in _order_ids_in_batches(expired, batch_size=batch_size):
        try:
            canceled += _order_expired_lines_cancel(order_id=order_id, now=now)
        except Exception:  # one broken order must not stop the others; it is tried again next run
            logger.exception("auto-cancel of the expired lines of order %s failed", order_id)
    return canceled


def _order_expired_lines_cancel(*, order_id: int, now: datetime) -> int:
    with transaction.atomic():
        order = Order.objects.select_for_update(skip_locked=True).filter(pk=order_id).first()
        if order is None:  # being changed by someone else right now: next run
            return 0
        lines = _lines_lock(order_id=order_id)
        expired = [
            line for line in lines
            if line.status == LineStatus.QUEUED and line.queue == Queue.UNFILLABLE
            and line.auto_cancel_at is not None and line.auto_cancel_at <= now
        ]
        if not expired:
            return 0
        entries = []
        for line in expired:
            entries.append(transit(line, "cancel", reason=EXPIRED_REASON, at=now))
            line.cancel_reason = EXPIRED_REASON
            line.queue = ""  # a canceled line waits in no queue
            line.auto_cancel_at = None
        OrderLine.objects.bulk_update(expired, ["status", "cancel_reason", "queue", "auto_cancel_at"])
        record(entries)
        OrderNote.objects.create(
            order=order, at=now, text=f"Canceled {_lines_text(expired)}: {EXPIRED_REASON} (auto-cancel date passed)."
        )
        shop_lines_canceled(order=order, canceled=[(line, line.quantity) for line in expired], reason=EXPIRED_REASON,
                            now=now)
        order_settle(order=order, lines=lines, now=now)
    return len(expired)


# --- moving lines between parkings --------------------------------------------------------------


def lines_move(
    *, line_ids: list[int], to_queue: str, actor, reason: str, now: datetime | None = None
) -> MoveReport:
    """Move QUEUED lines (from whichever queue they wait in) to `to_queue`, noted on each order.

    A line keeps its auto-cancel date; one moved into UNFILLABLE without a date gets now + the
    default auto-cancel days. Lines that do not exist, are not QUEUED or already wait in `to_queue`
    are reported and left alone. Each order is one transaction (order, then its lines, locked).
    """
    if to_queue not in Queue.values:
        raise ParkingError(f"{to_queue!r} is not a queue: use one of {', '.join(Queue.values)}.")
    return _lines_move_by_id(line_ids=line_ids, from_queues=tuple(Queue.values), to_queue=to_queue, actor=actor,
                             reason=reason, now=now)


def lines_move_to_hold(
    *, line_ids: list[int] | None = None, order_names: Iterable[str] | None = None, actor, reason: str,
    now: datetime | None = None,
) -> MoveReport:
    """Move UNFILLABLE lines to UNFILLABLE_HOLD (never auto-canceled), by line or by whole order.

    Give `line_ids` or `order_names` (an order's every UNFILLABLE line moves). The lines keep their
    auto-cancel date, so moving them back to UNFILLABLE restores the clock they had.
    """
    if (line_ids is None) == (order_names is None):
        raise ParkingError("Give either line ids or order names.")
    hold = dict(from_queues=(Queue.UNFILLABLE,), to_queue=Queue.UNFILLABLE_HOLD, actor=actor, reason=reason, now=now)
    if line_ids is not None:
        return _lines_move_by_id(line_ids=line_ids, **hold)
    return _lines_move_by_order_name(names=order_names, **hold)


def lines_move_to_hold_csv(*, file: IO, actor, reason: str, now: datetime | None = None) -> MoveReport:
    """lines_move_to_hold for the orders named in a CSV file (header with an `order` or `order_name` column).

    Rows that name no order are reported with their row number (the header is row 1); a file
    without the column moves nothing.
    """
    names, bad_rows = _order_names_read(file)
    report = MoveReport()
    if names:
        report = lines_move_to_hold(order_names=names, actor=actor, reason=reason, now=now)
    report.bad_rows = bad_rows + report.bad_rows
    return report


def _order_names_read(file: IO) -> tuple[list[str], list[tuple[int, str]]]:
    text = io.TextIOWrapper(file, encoding="utf-8-sig", newline="") if _is_binary(file) else file
    rows = csv.reader(text)
    header = next(rows, None)
    if header is None:
        return [], [(1, "the file is empty: expected a header with an 'order' column")]
    columns = [name.strip().lstrip("\ufeff").lower() for name in header]
    index = next((columns.index(name) for name in ORDER_COLUMNS if name in columns), None)
    if index is None:
        return [], [(1, f"header missing: no 'order' or 'order_name' column (found {', '.join(header) or 'nothing'})")]
    names, bad_rows = [], []
    for number, row in enumerate(rows, start=2):
        name = row[index].strip() if index < len(row) else ""
        if name:
            names.append(name)
        else:
            bad_rows.append((number, "empty row" if not any(cell.strip() for cell in row) else "no order name"))
    return names, bad_rows


def _is_binary(file: IO) -> bool:
    return isinstance(file, io.RawIOBase | io.BufferedIOBase) or "b" in getattr(file, "mode", "")


def _lines_move_by_id(
    *, line_ids: list[int], from_queues: tuple[str, ...], to_queue: str, actor, reason: str, now: datetime | None,
) -> MoveReport:
    reason = _reason_required(reason)
    report = MoveReport()
    found = dict(OrderLine.objects.filter(pk__in=line_ids).values_list("pk", "order_id"))
    report.not_found = [f"line {line_id}" for line_id in dict.fromkeys(line_ids) if line_id not in found]
    per_order: dict[int, set[int]] = defaultdict(set)
    for line_id, order_id in found.items():
        per_order[order_id].add(line_id)
    for order_id in sorted(per_order):
        name, moved_ids = _order_lines_move(order_id=order_id, line_ids=per_order[order_id], from_queues=from_queues,
                                            to_queue=to_queue, actor=actor, reason=reason, now=now)
        if moved_ids:
            report.moved.append((name, len(moved_ids)))
        report.not_in_queue += [f"line {line_id} ({name})" for line_id in sorted(per_order[order_id] - moved_ids)]
    return report


def _lines_move_by_order_name(
    *, names: Iterable[str], from_queues: tuple[str, ...], to_queue: str, actor, reason: str, now: datetime | None,
) -> MoveReport:
    reason = _reason_required(reason)
    report = MoveReport()
    wanted = list(dict.fromkeys(name.strip() for name in names if name.strip()))
    # Spreadsheets often drop the leading "#" of names like #1001: such a name finds its order too.
    lookups = {name: [name] if name.startswith("#") else [name, f"#{name}"] for name in wanted}
    orders: dict[str, list[int]] = defaultdict(list)
    for pk, name in Order.objects.filter(name__in={n for names_ in lookups.values() for n in names_}).order_by("pk") \
            .values_list("pk", "name"):
        orders[name].append(pk)
    for name in wanted:
        order_ids = next((orders[candidate] for candidate in lookups[name] if orders.get(candidate)), [])
        if not order_ids:
            report.not_found.append(name)
            continue
        moved_any = False
        for order_id in order_ids:
            order_name, moved_ids = _order_lines_move(order_id=order_id, line_ids=None,
                                                      from_queues=from_queues, to_queue=to_queue, actor=actor,
                                                      reason=reason, now=now)
            if moved_ids:
                moved_any = True
                report.moved.append((order_name, len(moved_ids)))
        if not moved_any:
            report.not_in_queue.append(name)
    return report


def _order_lines_move(
    *, order_id: int, line_ids: set[int] | None, from_queues: tuple[str, ...], to_queue: str, actor,
    reason: str, now: datetime | None,
) -> tuple[str, set[int]]:
    """Move the order's QUEUED lines (of `line_ids`, or all) from `from_queues` to `to_queue`; return (name, ids)."""
    now = now or timezone.now()
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order_id)
        lines = [
            line for line in _lines_lock(order_id=order_id, line_ids=line_ids)
            if line.status == LineStatus.QUEUED and line.queue in from_queues and line.queue != to_queue
        ]
        if not lines:
            return order.name, set()
        origins = sorted({line.queue for line in lines})
        for line in lines:
            line.queue = to_queue
            line.queued_at = now
            if to_queue == Queue.UNFILLABLE and line.auto_cancel_at is None:
                line.auto_cancel_at = now + timedelta(days=UNFILLABLE_AUTO_CANCEL_DAYS)
        OrderLine.objects.bulk_update(lines, ["queue", "queued_at", "auto_cancel_at"])
        # A queue move is no state change (the lines stay QUEUED), so the note is what the timeline shows.
        OrderNote.objects.create(
            order=order, actor=actor, at=now,
            text=f"Moved {_lines_text(lines)} from {', '.join(origins)} to {to_queue}: {reason}",
        )
    return order.name, {line.pk for line in lines}


def _reason_required(reason: str) -> str:
    if not (reason or "").strip():
        raise ParkingError("Moving lines needs a reason (it is shown on the order's timeline).")
    return reason.strip()


# --- releasing pre-orders and backorders --------------------------------------------------------


@dataclass
class _Waiting:
    line_id: int
    order_id: int
    product_id: int | None
    quantity: int
    promise_date: date | None
    pickup_facility_id: int | None
    country: str
    excluded: set[int] = field(default_factory=set)


def waiting_lines_release(
    *, now: datetime | None = None, order_ids: list[int] | None = None, force: bool = False, actor=None,
    reason: str = "", batch_size: int = 200,
) -> int:
    """Send PRE_ORDER and BACKORDER lines to BROKERING when they can be fulfilled; return how many moved.

    A line is released when its promise date has come (today in UTC: promise dates carry no time
    zone), or — dated or not — when a facility that could serve it has available stock (on_hand −
    reserved − safety_stock) for its whole quantity. "Could serve" is what routing's fences would
    allow: active and selling online; for a ship line a facility that ships (stores offering
    ship-from-store, every warehouse) in the order's country; for a pickup line only the chosen store,
    offering pickup; never a facility the line is excluded from. Released lines use up the units they
    were released on, so five units arriving release five one-unit backorders, not a hundred that
    routing would then park as unfillable. The stock is read before the orders are locked: a line
    released a moment early simply waits for stock in routing.

    `force=True` (by hand, needs `order_ids`) releases those orders' waiting lines regardless.
    Each order is its own transaction with a note on its timeline; an order locked by someone else is
    skipped by the scheduled run (forced releases wait for it).
    """
    now = now or timezone.now()
    if force and not order_ids:
        raise ParkingError("A forced release names the orders to release.")
    waiting = OrderLine.objects.filter(status=LineStatus.QUEUED, queue__in=WAITING_QUEUES)
    if order_ids is not None:
        waiting = waiting.filter(order_id__in=order_ids)
    today = now.astimezone(UTC).date()
    available: dict[int, dict[int, int]] = {}  # product -> {facility: units}, used up as lines are released
    facilities = _serving_facilities()
    released = 0
    for batch in _batches(_order_ids_in_batches(waiting, batch_size=batch_size), batch_size):
        lines = _waiting_lines(waiting.filter(order_id__in=batch))
        _stock_read(available=available, product_ids={line.product_id for line in lines if line.product_id})
        why: dict[int, dict[int, str]] = defaultdict(dict)  # order -> {line: why it is released}
        for line in lines:
            if force:
                why[line.order_id][line.line_id] = f"released by hand{': ' + reason.strip() if reason.strip() else ''}"
            elif facility_code := _stock_take(line=line, available=available, facilities=facilities):
                why[line.order_id][line.line_id] = f"stock available at {facility_code}"
            elif line.promise_date is not None and line.promise_date <= today:
                why[line.order_id][line.line_id] = f"promise date {line.promise_date.isoformat()} reached"
        for order_id, reasons in why.items():
            try:
                released += _order_waiting_release(order_id=order_id, reasons=reasons, actor=actor, now=now,
                                                   wait=force)
            except Exception:  # one broken order must not stop the others; it is tried again next run
                if force:
                    raise
                logger.exception("releasing the waiting lines of order %s failed", order_id)
    return released


def _serving_facilities() -> dict[int, dict]:
    """Facilities that can fulfil anything online, with what routing's fences look at."""
    return {
        row["pk"]: row
        for row in Facility.objects.filter(is_active=True, sells_online=True).values(
            "pk", "code", "kind", "country", "offers_ship_from_store", "offers_pickup"
        )
    }


def _waiting_lines(lines) -> list[_Waiting]:
    rows = list(
        lines.order_by("order_id", "pk").values_list(
            "pk", "order_id", "product_id", "quantity", "promise_date", "pickup_facility_id",
            "order__shipping_address",
        )
    )
    excluded: dict[int, set[int]] = defaultdict(set)
    for line_id, facility_id in OrderLine.excluded_facilities.through.objects.filter(
        orderline_id__in=[row[0] for row in rows]
    ).values_list("orderline_id", "facility_id"):
        excluded[line_id].add(facility_id)
    return [
        _Waiting(line_id=pk, order_id=order_id, product_id=product_id, quantity=quantity, promise_date=promise,
                 pickup_facility_id=pickup, country=str((address or {}).get("country_code") or "").upper(),
                 excluded=excluded[pk])
        for pk, order_id, product_id, quantity, promise, pickup, address in rows
    ]


def _stock_read(*, available: dict[int, dict[int, int]], product_ids: set[int]) -> None:
    """Add the available stock of products not read yet (those read before keep what earlier lines used up)."""
    new = product_ids - available.keys()
    for product_id in new:
        available[product_id] = {}
    levels = (
        StockLevel.objects.filter(product_id__in=new)
        .annotate(units=F("on_hand") - F("reserved") - F("safety_stock")).filter(units__gt=0)
        .values_list("product_id", "facility_id", "units")
    )
    for product_id, facility_id, units in levels:
        available[product_id][facility_id] = units


def _stock_take(*, line: _Waiting, available: dict[int, dict[int, int]], facilities: dict[int, dict]) -> str:
    """The code of the serving facility with the most units for the whole line (its units used up), or ""."""
    if line.product_id is None:
        return ""
    levels = available.get(line.product_id, {})
    serving = [
        (units, facility_id) for facility_id, units in levels.items()
        if units >= line.quantity and facility_id not in line.excluded
        and _serves(facility=facilities.get(facility_id), line=line)
    ]
    if not serving:
        return ""
    _, facility_id = max(serving, key=lambda row: (row[0], -row[1]))
    levels[facility_id] -= line.quantity
    return facilities[facility_id]["code"]


def _serves(*, facility: dict | None, line: _Waiting) -> bool:
    if facility is None:  # inactive or not selling online
        return False
    if line.pickup_facility_id is not None:
        return facility["pk"] == line.pickup_facility_id and facility["offers_pickup"]
    ships = facility["offers_ship_from_store"] or facility["kind"] == Facility.Kind.WAREHOUSE
    # An address without a country code is not fenced by country here; routing decides on it.
    return ships and (not line.country or facility["country"].upper() == line.country)


def _order_waiting_release(*, order_id: int, reasons: dict[int, str], actor, now: datetime, wait: bool) -> int:
    with transaction.atomic():
        orders = Order.objects.select_for_update(skip_locked=not wait)
        order = orders.filter(pk=order_id).first()
        if order is None:
            return 0
        lines = [
            line for line in _lines_lock(order_id=order_id, line_ids=reasons)
            if line.status == LineStatus.QUEUED and line.queue in WAITING_QUEUES
        ]
        if not lines:
            return 0
        parts = [f"{line.sku} × {line.quantity} from {line.queue} ({reasons[line.pk]})" for line in lines]
        for line in lines:
            line.queue = Queue.BROKERING
            line.queued_at = now
        OrderLine.objects.bulk_update(lines, ["queue", "queued_at"])
        OrderNote.objects.create(order=order, actor=actor, at=now, text="Released to BROKERING: " + "; ".join(parts))
    return len(lines)


# --- helpers ------------------------------------------------------------------------------------


def _lines_lock(*, order_id: int, line_ids: Iterable[int] | None = None) -> list[OrderLine]:
    """The order's lines (or some of them), locked in primary-key order as every service locks them."""
    lines = OrderLine.objects.filter(order_id=order_id)
    if line_ids is not None:
        lines = lines.filter(pk__in=list(line_ids))
    return list(lines.order_by("pk").select_for_update(of=("self",)))


def _order_ids_in_batches(lines, *, batch_size: int):
    """The distinct order ids of `lines`, read batch by batch in id order (a long queue is never read at once)."""
    last_id = 0
    while True:
        ids = list(
            lines.filter(order_id__gt=last_id).order_by("order_id").values_list("order_id", flat=True)
            .distinct()[:batch_size]
        )
        if not ids:
            return
        yield from ids
        last_id = ids[-1]


def _batches(ids, size: int):
    batch = []
    for item in ids:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _lines_text(lines: list[OrderLine]) -> str:
    items = [f"{line.sku} × {line.quantity}" for line in lines]
    return f"{len(lines)} line{'s' if len(lines) != 1 else ''} ({', '.join(items)})"
