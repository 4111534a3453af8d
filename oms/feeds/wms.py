"""The WMS imports: acknowledgements, fulfilled lines and rejections a warehouse sends back (docs/erp-feeds.md).

Each file goes the inventory feed's way (oms.feeds.files: stored, recognised by content hash, claimed, a
report per file). The whole file is checked before anything is applied — its header, then every row's
form (column count, whole numbers, dates, lengths) — and refused as a whole if any row is malformed. Then
its rows are applied one unit at a time, each unit in its own transaction that locks the order, then its
lines: a row (acknowledgements, rejections) or, for fulfilled files, every row of one shipment (same order,
facility and tracking number). A row the data does not allow (unknown line, wrong facility, a request in
the wrong state) is rejected with its line number and the reason; the rest still applies.
"""

import re
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db import transaction
from django.utils import timezone

from fulfillment.warehouse import parcel_shipped_get, tracking_url_for, warehouse_shipment_ship
from oms.core.history import record
from oms.core.lines import order_line_requeue, request_acknowledge, request_cancel_if_empty, requests_complete_if_done
from oms.feeds.files import (
    CsvRow,
    FeedImport,
    FeedRefused,
    csv_count,
    csv_header,
    csv_rows,
    feed_chunk_record,
    feed_drops_import,
    feed_file_finish,
    feed_file_lock,
    feed_file_path,
    feed_import,
)
from oms.models import FeedFile, FulfillmentRequest, LineRejection, Order, OrderLine, OrderNote, RejectionReason
from stores.models import Facility

Kind = FeedFile.Kind
RequestStatus = FulfillmentRequest.Status
SENT = (RequestStatus.PROCESSED, RequestStatus.ACKNOWLEDGED)

COLUMNS: dict[str, tuple[list[str], list[str]]] = {  # kind: (required, optional)
    Kind.ACKNOWLEDGEMENTS: (["order", "line_id", "facility"], ["request"]),
    Kind.FULFILLED: (["order", "line_id", "facility", "shipped_at", "quantity", "tracking_number", "carrier"],
                     ["request", "service", "tracking_url"]),
    Kind.REJECTED: (["order", "line_id", "facility", "quantity", "reason"], ["request"]),
}
COMMAND_KINDS = {"acknowledgements": Kind.ACKNOWLEDGEMENTS, "fulfilled": Kind.FULFILLED, "rejected": Kind.REJECTED}
FUTURE_TOLERANCE = timedelta(minutes=5)
MAX_INT = 2**31 - 1
WHOLE_NUMBER = re.compile(r"[0-9]+")
LENGTHS = {"order": 64, "facility": 32, "request": 80, "tracking_number": 64, "carrier": 40, "service": 40,
           "tracking_url": 200, "reason": 120}
# A file with malformed rows is refused naming this many of them.


class RowRejected(Exception):
    """This row cannot apply (unknown line, wrong facility, state): reported with its line, nothing changed."""


@dataclass(frozen=True)
class WmsRow:
    line: int
    raw: str
    order: str
    line_id: int
    facility: str
    request: str = ""
    quantity: int = 0
    shipped_at: datetime | None = None
    tracking_number: str = ""
    carrier: str = ""
    service: str = ""
    tracking_url: str = ""
    reason: str = ""


@dataclass
class Outcome:
    applied: int = 0
    unchanged: int = 0
    problems: list[tuple[int, str, str]] = field(default_factory=list)

    def reject(self, row: WmsRow, reason: str) -> None:
        self.problems.append((row.line, reason, row.raw))


# --- entry points ------------------------------------------------------------------------------------

def wms_feed_import(
    kind: str, file, *, name: str, source: str, actor=None, now: datetime | None = None,
) -> FeedImport:
    """Import one WMS file of `kind` (ACKNOWLEDGEMENTS, FULFILLED or REJECTED; a binary file object).

    Content already imported (or being imported by another process right now) changes nothing and comes
    back as `duplicate` with the first import's report. A file that cannot be read as a whole (empty, not
    UTF-8 CSV, wrong header) is REFUSED and changes nothing; otherwise its good rows apply, each malformed or
    inapplicable row is rejected with its line number and reason, and the FeedFile is the report.
    """
    if kind not in COLUMNS:
        raise ValueError(f"not a WMS import kind: {kind!r}")
    now = now or timezone.now()
    return feed_import(file, kind=kind, name=name, source=source, actor=actor, now=now,
                       apply=lambda feed_id, claim: _wms_apply(kind, feed_id, claim, actor=actor, now=now))


def wms_drops_import(*, now: datetime) -> list[tuple[str, FeedImport | None]]:
    """Import every file dropped in FEEDS_DIR/inbox/{acknowledgements,fulfilled,rejected}/ ("folder/name": result).

    Acknowledgements first, then fulfillments, then rejections: a warehouse that acknowledges and ships in
    one sweep gets both applied in that order.
    """
    results = []
    for kind in COLUMNS:
        def import_file(file, *, kind=kind, **kwargs):
            return wms_feed_import(kind, file, **kwargs)
        results += [(f"{kind.lower()}/{name}", result)
                    for name, result in feed_drops_import(kind=kind, now=now, import_file=import_file)]
    return results


# --- reading and checking the file -------------------------------------------------------------------

def _wms_apply(kind: str, feed_id: int, claim, *, actor, now: datetime) -> FeedFile:
    feed = FeedFile.objects.get(pk=feed_id)
    path = feed_file_path(feed)
    required, optional = COLUMNS[kind]
    facilities = {facility.code: facility for facility in Facility.objects.all()}
    try:
        names = csv_header(path, required=required, optional=optional)
        total = csv_count(path)
        rows, malformed = _rows_parse(path, names=names, facilities=facilities, now=now)
    except FeedRefused as refusal:
        return feed_file_finish(feed_id=feed_id, claim=claim, now=now, refused=str(refusal))
    FeedFile.objects.filter(pk=feed_id, claim=claim).update(rows_total=total)
    if malformed and feed.lines_done == 0 and feed.rows_rejected == 0:  # reported once, even if resumed
        with transaction.atomic():
            locked = feed_file_lock(feed_id=feed_id, claim=claim)
            feed_chunk_record(locked, lines_done=0, problems=malformed, now=now)
    apply_unit = UNIT_APPLY[kind]
    source = f"feed #{feed_id} {feed.name}"[:120]
    for unit in _units(kind, rows):
        if unit[0].line <= feed.lines_done:  # applied by an import that stopped (resumed after it)
            continue
        with transaction.atomic():
            locked = feed_file_lock(feed_id=feed_id, claim=claim)
            outcome = Outcome()
            apply_unit(unit, facilities=facilities, outcome=outcome, actor=actor, source=source, now=now)
            feed_chunk_record(locked, lines_done=unit[0].line, problems=sorted(outcome.problems), now=now,
                              rows_applied=outcome.applied, rows_unchanged=outcome.unchanged)
    return feed_file_finish(feed_id=feed_id, claim=claim, now=now)


def _units(kind: str, rows: list[WmsRow]) -> list[list[WmsRow]]:
    """What applies in one transaction, in the order of its first line: a row, or a fulfilled file's shipment."""
    if kind != Kind.FULFILLED:
        return [[row] for row in rows]
    groups: dict[tuple[str, str, str], list[WmsRow]] = {}
    for row in rows:
        groups.setdefault((row.order, row.facility, row.tracking_number), []).append(row)
    return list(groups.values())  # dicts keep insertion order: by first line


def _rows_parse(path, *, names: list[str], facilities: dict[str, Facility],
                now: datetime) -> tuple[list[WmsRow], list[tuple[int, str, str]]]:
    """The well-formed data rows, and the malformed ones as rejected rows (line, reason, raw row).

    WMS files are a warehouse's day (thousands of rows, not the inventory feed's hundreds of thousands):
    they are held in memory so a fulfilled file's shipments can be grouped across the file.
    """
    rows, malformed = [], []
    for csv_row in csv_rows(path):
        values, problems = _row_parse(csv_row, names=names, facilities=facilities, now=now)
        if problems:
            malformed.append((csv_row.line, "; ".join(problems), csv_row.raw()))
        else:
            rows.append(values)
    return rows, malformed


def _row_parse(row: CsvRow, *, names: list[str], facilities: dict[str, Facility],
               now: datetime) -> tuple[WmsRow | None, list[str]]:
    if len(row.fields) != len(names):
        return None, [f"expected {len(names)} columns, found {len(row.fields)}"]
    cells = {name: value.strip() for name, value in zip(names, row.fields, strict=True)}
    problems = []
    for name in names:
        if name in ("order", "line_id", "facility", "shipped_at", "quantity", "tracking_number", "carrier",
                    "reason") and not cells[name]:
            problems.append(f"{name} is empty")
        elif len(cells[name]) > LENGTHS.get(name, MAX_INT):
            problems.append(f"{name} is longer than {LENGTHS[name]} characters")
    fields = {key: cells[key] for key in ("order", "facility", "request", "tracking_number", "carrier", "service",
                                          "tracking_url", "reason") if key in cells}
    line_id = cells["line_id"]
    if line_id and not _whole(line_id, minimum=1):
        problems.append(f"line_id {line_id[:20]!r} is not a whole number")
    if cells.get("quantity") and not _whole(cells["quantity"], minimum=1):
        problems.append(f"quantity {cells['quantity'][:20]!r} is not a whole number of 1 or more")
    if "shipped_at" in cells and cells["shipped_at"]:
        facility = facilities.get(cells["facility"])
        shipped_at, problem = _shipped_at(cells["shipped_at"], zone=facility.tz if facility else None, now=now)
        if problem:
            problems.append(problem)
        fields["shipped_at"] = shipped_at
    url = cells.get("tracking_url", "")
    if url and not re.fullmatch(r"https?://\S+", url):
        problems.append(f"tracking_url {url[:40]!r} is not an http(s) address")
    if problems:
        return None, problems
    return WmsRow(line=row.line, raw=row.raw(), line_id=int(line_id), quantity=int(cells.get("quantity") or 0),
                  **fields), []


def _whole(text: str, *, minimum: int) -> bool:
    return bool(WHOLE_NUMBER.fullmatch(text)) and minimum <= int(text) <= MAX_INT


def _shipped_at(text: str, *, zone: zoneinfo.ZoneInfo | None, now: datetime) -> tuple[datetime | None, str]:
    """An ISO 8601 date (midnight in the facility's zone) or date and time (no offset: the facility's zone)."""
    try:
        if len(text) == 10:
            value = datetime.combine(date.fromisoformat(text), time.min)
        else:
            value = datetime.fromisoformat(text)
    except ValueError:
        return None, f"shipped_at {text[:40]!r} is not an ISO 8601 date or date and time (e.g. 2025-03-01T18:30:00Z)"
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone or zoneinfo.ZoneInfo("UTC"))
    if value > now + FUTURE_TOLERANCE:
        return None, f"shipped_at {text[:40]!r} is in the future"
    return value, ""


# --- finding a row's line (in the unit's transaction) ------------------------------------------------

def _facility_check(row: WmsRow, facilities: dict[str, Facility]) -> Facility:
    facility = facilities.get(row.facility)
    if facility is None:
        raise RowRejected(f"unknown facility {row.facility!r}")
    if not facility.fulfilled_by_wms:
        raise RowRejected(f"facility {row.facility} is not fulfilled by a WMS")
    return facility


def _order_lock(order_id: int) -> tuple[Order, dict[int, OrderLine]]:
    """Lock the order, then all its lines in primary-key order (as every other writer of them does)."""
    order = Order.objects.select_for_update().get(pk=order_id)
    lines = {line.pk: line for line in OrderLine.objects.filter(order=order).order_by("pk")
             .select_for_update(of=("self",))}
    return order, lines


def _line_find(row: WmsRow, *, order: Order, lines: dict[int, OrderLine]) -> OrderLine:
    line = lines.get(row.line_id)
    if line is None or order.name != row.order:
        raise RowRejected(f"order {row.order!r} has no line {row.line_id}")
    return line


def _request_of(row: WmsRow, line: OrderLine, facility: Facility) -> FulfillmentRequest:
    """The line's request at this facility (locked), or why the row does not apply to this line."""
    if line.status == OrderLine.Status.ALLOCATED and line.allocated_facility_id != facility.pk:
        raise RowRejected(f"line {line.pk} is allocated to another facility, not {facility.code}")
    request = (FulfillmentRequest.objects.select_for_update().filter(pk=line.fulfillment_request_id)
               .select_related("facility").first())
    if request is None or request.facility_id != facility.pk:
        state = line.status + (f" in {line.queue}" if line.status == OrderLine.Status.QUEUED else "")
        raise RowRejected(f"line {line.pk} is not sent to {facility.code} (it is {state})")
    if row.request and row.request != request.number:
        raise RowRejected(f"line {line.pk} is on request {request.number}, not {row.request}")
    return request


def _locate(rows: list[WmsRow], facilities: dict[str, Facility]) -> tuple[Facility, Order, dict[int, OrderLine]]:
    """The rows' facility and their order locked with its lines (the rows name the same order and facility)."""
    first = rows[0]
    facility = _facility_check(first, facilities)
    order_id = OrderLine.objects.filter(pk__in=[row.line_id for row in rows], order__name=first.order).values_list(
        "order_id", flat=True).first()
    if order_id is None:
        if not Order.objects.filter(name=first.order).exists():
            raise RowRejected(f"unknown order {first.order!r}")
        raise RowRejected(f"order {first.order!r} has no line {first.line_id}")
    order, lines = _order_lock(order_id)
    return facility, order, lines


def _open_line(row: WmsRow, *, line: OrderLine, facility: Facility) -> FulfillmentRequest:
    """The line is still the warehouse's to ship or reject: ALLOCATED there on a sent request, enough units."""
    request = _request_of(row, line, facility)
    if request.status not in SENT:
        raise RowRejected(f"request {request.number} is {request.status}, not PROCESSED or ACKNOWLEDGED")
    if line.status != OrderLine.Status.ALLOCATED:
        raise RowRejected(f"line {line.pk} is {line.status}, not ALLOCATED")
    if row.quantity > line.quantity:
        raise RowRejected(f"quantity {row.quantity} is more than the {line.quantity} open on line {line.pk}")
    return request


# --- what a unit does ----------------------------------------------------------------------------------

def _acknowledgement_apply(unit: list[WmsRow], *, facilities, outcome: Outcome, actor, source: str,
                           now: datetime) -> None:
    """PROCESSED → ACKNOWLEDGED; a request already acknowledged is unchanged."""
    (row,) = unit
    try:
        facility, order, lines = _locate([row], facilities)
        request = _request_of(row, _line_find(row, order=order, lines=lines), facility)
        if request.status == RequestStatus.ACKNOWLEDGED:
            outcome.unchanged += 1
            return
        if request.status != RequestStatus.PROCESSED:
            raise RowRejected(f"request {request.number} is {request.status}: only a PROCESSED request can be "
                              "acknowledged")
    except RowRejected as refusal:
        outcome.reject(row, str(refusal))
        return
    record(request_acknowledge(request_id=request.pk, actor=actor, now=now,
                               reason=f"acknowledged by warehouse {facility.code} ({source})"))
    outcome.applied += 1


def _fulfilled_apply(unit: list[WmsRow], *, facilities, outcome: Outcome, actor, source: str,
                     now: datetime) -> None:
    """One shipment: every valid row of one (order, facility, tracking number), shipped in one parcel."""
    first = unit[0]
    try:
        facility, order, lines = _locate(unit, facilities)
    except RowRejected as refusal:  # the same order and facility for every row: each is rejected alike
        for row in unit:
            outcome.reject(row, str(refusal))
        return
    known = parcel_shipped_get(tracking_number=first.tracking_number)
    items: list[tuple[OrderLine, int]] = []
    requests: list[FulfillmentRequest] = []
    for row in unit:
        try:
            line = _line_find(row, order=order, lines=lines)
            if known is not None:
                if (known.order_id, known.facility_id) != (order.pk, facility.pk):
                    raise RowRejected(f"tracking number {row.tracking_number} belongs to another shipment")
                if line.pk not in known.line_ids:
                    raise RowRejected(f"tracking number {row.tracking_number} was imported before without line "
                                      f"{line.pk}: ship more units under a tracking number of their own")
                outcome.unchanged += 1
                continue
            if any(line.pk == seen.pk for seen, _ in items):
                raise RowRejected(f"line {line.pk} appears twice for tracking number {row.tracking_number}")
            requests.append(_open_line(row, line=line, facility=facility))
            items.append((line, row.quantity))
        except RowRejected as refusal:
            outcome.reject(row, str(refusal))
    if not items:
        return
    shipped = [row for row in unit if row.line_id in {line.pk for line, _ in items}]
    warehouse_shipment_ship(
        order=order, facility=facility, request=requests[0], items=items, carrier=first.carrier,
        service=first.service, tracking_number=first.tracking_number,
        tracking_url=first.tracking_url or tracking_url_for(carrier=first.carrier,
                                                            tracking_number=first.tracking_number),
        shipped_at=min(row.shipped_at for row in shipped), actor=actor, now=now, source=source,
    )
    outcome.applied += len(items)


def _rejection_apply(unit: list[WmsRow], *, facilities, outcome: Outcome, actor, source: str,
                     now: datetime) -> None:
    """The units go back to the REJECTED queue with the warehouse excluded, their reservation released."""
    (row,) = unit
    try:
        facility, order, lines = _locate([row], facilities)
        line = _line_find(row, order=order, lines=lines)
        request = _open_line(row, line=line, facility=facility)
    except RowRejected as refusal:
        outcome.reject(row, str(refusal))
        return
    why = f"rejected by warehouse {facility.code}: {row.reason}"
    back, entries = order_line_requeue(line=line, quantity=row.quantity, actor=actor, reason=why, now=now,
                                       source=source)
    LineRejection.objects.create(
        order=order, order_line=back, facility=facility, product_id=back.product_id,
        reason=RejectionReason.objects.filter(code=row.reason.lower()).first(), reason_text=row.reason[:120],
        quantity=row.quantity, actor=actor, created_at=now,
    )
    OrderNote.objects.create(order=order, actor=actor, at=now, text=(
        f"Warehouse {facility.code} rejected {row.quantity} × {back.sku} (line {line.pk}): {row.reason} "
        f"— sent to {back.queue} ({source}, line {row.line})."))
    entries += request_cancel_if_empty(request_id=request.pk, actor=actor, now=now,
                                       reason=f"everything rejected by warehouse {facility.code}")
    # Some lines of the request shipped before: with nothing open left it is complete, not canceled.
    entries += requests_complete_if_done({request.pk}, actor=actor, now=now)
    record(entries)
    outcome.applied += 1


UNIT_APPLY: dict[str, Callable[..., None]] = {
    Kind.ACKNOWLEDGEMENTS: _acknowledgement_apply,
    Kind.FULFILLED: _fulfilled_apply,
    Kind.REJECTED: _rejection_apply,
}
