"""The ERP/WMS exports: CSV files under FEEDS_DIR/outbox/<kind>/ written from the ERP outbox messages.

Every export record is an `OutboxMessage` with destination ERP, written in the transaction of the change
that causes it under a unique idempotency key (`erp-order:<order id>`, `erp-allocation:<request id>`,
`erp-allocation-cancel:<request id>`, `erp-fulfilled:shipment:<id>` / `erp-fulfilled:handover:<id>`); its
payload holds the finished CSV rows (`{"rows": [{column: text, …}]}`), the facts of that moment. The
dispatcher has no ERP adapter and leaves them PENDING; `erp_feeds_export` (the `export_erp_feeds` task,
`manage.py export_feeds`) delivers them by writing one file per kind. docs/erp-feeds.md has the formats.

Crash safety — nothing is exported twice, nothing is lost:

1. `_export_create`, one transaction: lock the kind's PENDING messages (`FOR UPDATE SKIP LOCKED`, so a
   second run at the same moment skips them), create a `FeedExport` (kind, file name, rows), link the
   messages to it and mark them DELIVERED; commit. From here the messages belong to that export and no
   other run can take them; before this commit nothing has changed (a crash leaves them PENDING).
2. `feed_export_write`, a second transaction holding the FeedExport row lock (skip locked: one writer per
   export): write the rows of its messages, in primary-key order, to a temporary name in the same folder
   (`.<final name>.<random>.tmp`: a leading dot and `.tmp`, names a reader of the folder ignores), fsync it,
   `os.replace` it to `<kind>-<yyyymmddHHMMSS>-<export id>.csv` (atomic: the final name shows the whole
   file or nothing), fsync the folder, then set `written_at`; commit.
3. Every run first calls `feed_export_write` for each export without `written_at` (a crash between 1 and
   the end of 2): the content depends only on its messages, so the file is written again byte for byte
   under the same name. The one duplicate possible is a crash after the rename and before `written_at`
   committed: the same file (same name, same content) is written a second time, which a reader that
   keeps the names it has taken recognises.
4. Temporary files left by a crash (step 2 interrupted) are removed once older than TEMP_MAX_AGE.

Before the files, the run sends the UNPROCESSED requests of WMS warehouses (`wms_requests_send`: each
becomes PROCESSING → PROCESSED and gets its `erp-allocation` message) and writes a cancellation for every
exported request that ended CANCELED (`allocation_cancels_write`), so one run exports both.
"""

import csv
import logging
import os
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import CharField, Exists, OuterRef, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone

from oms.core.csv_cells import csv_cell_safe
from oms.core.erp_records import csv_text
from oms.core.history import record, transit
from oms.models import FeedExport, FulfillmentRequest, Order, OrderLine, OutboxMessage
from oms.outbox.messages import outbox_write

logger = logging.getLogger(__name__)

ERP = OutboxMessage.Destination.ERP
Kind = FeedExport.Kind
# A temporary file this old is what a crashed writer left behind (a live writer takes milliseconds).
TEMP_MAX_AGE = timedelta(minutes=10)

ORDERS_HEADER = [
    "order", "external_id", "channel", "ordered_at", "received_at", "customer_name", "email",
    "ship_city", "ship_postal_code", "ship_country", "line_id", "shop_line_id", "sku", "quantity", "unit_price",
    "currency",
]
ALLOCATIONS_HEADER = [
    "action", "order", "request", "line_id", "shop_line_id", "sku", "quantity", "facility",
    "ship_name", "ship_address1", "ship_address2", "ship_city", "ship_postal_code", "ship_country",
]
FULFILLED_HEADER = [
    "order", "line_id", "shop_line_id", "sku", "facility", "quantity", "shipped_at", "carrier", "service",
    "tracking_numbers",
]
HEADERS = {Kind.ORDERS: ORDERS_HEADER, Kind.ALLOCATIONS: ALLOCATIONS_HEADER, Kind.FULFILLED: FULFILLED_HEADER}
# Which outbox kinds go into which file.
MESSAGE_KINDS = {
    Kind.ORDERS: ["erp-order"],
    Kind.ALLOCATIONS: ["erp-allocation", "erp-allocation-cancel"],
    Kind.FULFILLED: ["erp-fulfilled"],
}
ALLOCATE, CANCEL = "ALLOCATE", "CANCEL"


# --- Payloads (the rows of a message, written with the change) ---------------------------------------


def _allocation_payload(*, request: FulfillmentRequest, lines: list[OrderLine]) -> dict:
    address = request.order.shipping_address or {}
    ship_to = {
        "ship_name": csv_text(address.get("name")) or request.order.customer_name,
        "ship_address1": csv_text(address.get("address1")), "ship_address2": csv_text(address.get("address2")),
        "ship_city": csv_text(address.get("city")), "ship_postal_code": csv_text(address.get("zip")),
        "ship_country": csv_text(address.get("country_code")),
    }
    return {"request": request.pk, "rows": [
        {"action": ALLOCATE, "order": request.order.name, "request": request.number, "line_id": str(line.pk),
         "shop_line_id": line.external_line_id, "sku": line.sku, "quantity": str(line.quantity),
         "facility": request.facility.code, **ship_to}
        for line in lines
    ]}


def wms_requests_send(*, now: datetime) -> int:
    """Send every UNPROCESSED request of a WMS warehouse by export: PROCESSING → PROCESSED with its
    `erp-allocation:<request id>` message (one row per allocated line). Returns how many were sent.

    One transaction per request, locking its order, then its allocated lines in primary-key order, then
    the request — the order of every request action (oms.routing.requests), so no deadlock with a void or
    a cancel. A request no longer UNPROCESSED once locked (another run sent it, it was voided) is left
    alone, and the key would refuse a second message anyway. A request without allocated lines is left
    for whatever emptied it to cancel.
    """
    candidates = list(
        FulfillmentRequest.objects.filter(status=FulfillmentRequest.Status.UNPROCESSED, facility__fulfilled_by_wms=True)
        .order_by("pk").values_list("pk", "order_id")
    )
    sent = 0
    for request_id, order_id in candidates:
        with transaction.atomic():
            Order.objects.select_for_update().filter(pk=order_id).values_list("pk", flat=True).first()
            lines = list(
                OrderLine.objects.filter(fulfillment_request_id=request_id, status=OrderLine.Status.ALLOCATED)
                .order_by("pk").select_for_update(of=("self",))
            )
            request = (FulfillmentRequest.objects.select_for_update(of=("self",)).select_related("order", "facility")
                       .get(pk=request_id))
            if request.status != FulfillmentRequest.Status.UNPROCESSED or not request.facility.fulfilled_by_wms:
                continue
            if not lines:
                logger.warning("erp export: %s has no allocated lines; not sent", request.number)
                continue
            record([
                transit(request, "process", reason="allocation export", at=now),
                transit(request, "mark_sent", reason="exported in the allocation feed", at=now),
            ])
            request.error = ""
            request.save(update_fields=["status", "error"])
            outbox_write(kind="erp-allocation", destination=ERP, idempotency_key=f"erp-allocation:{request.pk}",
                         order=request.order, now=now, payload=_allocation_payload(request=request, lines=lines))
            sent += 1
    return sent


def allocation_cancels_write(*, now: datetime) -> int:
    """Write `erp-allocation-cancel:<request id>` for every CANCELED request that has an `erp-allocation`
    message and no cancellation yet — whichever path canceled it (a void, an order or line cancel, a
    rejection that emptied it). The rows are the allocation's rows with action CANCEL. Idempotent by key:
    two runs at once write each cancellation once. Returns how many were written."""
    keyed = FulfillmentRequest.objects.annotate(
        allocation_key=Concat(Value("erp-allocation:"), Cast("pk", CharField())),
        cancel_key=Concat(Value("erp-allocation-cancel:"), Cast("pk", CharField())),
    )
    canceled = (
        keyed.filter(status=FulfillmentRequest.Status.CANCELED)
        .filter(Exists(OutboxMessage.objects.filter(idempotency_key=OuterRef("allocation_key"))))
        .exclude(Exists(OutboxMessage.objects.filter(idempotency_key=OuterRef("cancel_key"))))
        .order_by("pk").values_list("pk", "order_id", "allocation_key")
    )
    written = 0
    with transaction.atomic():
        found = list(canceled)
        orders = Order.objects.in_bulk({order_id for _, order_id, _ in found})
        for request_id, order_id, allocation_key in found:
            allocation = OutboxMessage.objects.get(idempotency_key=allocation_key)
            rows = [{**row, "action": CANCEL} for row in allocation.payload.get("rows", [])]
            message = outbox_write(kind="erp-allocation-cancel", destination=ERP, order=orders.get(order_id), now=now,
                                   idempotency_key=f"erp-allocation-cancel:{request_id}",
                                   payload={"request": request_id, "rows": rows})
            written += message is not None
    return written


# --- Files -------------------------------------------------------------------------------------------


def outbox_folder(kind: str) -> Path:
    return Path(settings.FEEDS_DIR) / "outbox" / kind


def feed_export_path(export: FeedExport) -> Path:
    return outbox_folder(export.kind) / export.file_name


def _export_create(*, kind: str, now: datetime) -> FeedExport | None:
    """Step 1: take the kind's PENDING messages into a new FeedExport, DELIVERED, in one transaction."""
    with transaction.atomic():
        pending = list(
            OutboxMessage.objects.filter(destination=ERP, status=OutboxMessage.Status.PENDING,
                                         kind__in=MESSAGE_KINDS[kind], due_at__lte=now)
            .order_by("pk").select_for_update(skip_locked=True).values_list("pk", "payload")
        )
        if not pending:
            return None
        export = FeedExport.objects.create(kind=kind, created_at=now,
                                           rows=sum(len(payload.get("rows", [])) for _, payload in pending))
        export.file_name = f"{kind}-{now.astimezone(UTC):%Y%m%d%H%M%S}-{export.pk}.csv"
        export.save(update_fields=["file_name"])
        OutboxMessage.objects.filter(pk__in=[pk for pk, _ in pending]).update(
            status=OutboxMessage.Status.DELIVERED, delivered_at=now, export=export,
        )
    return export


def feed_export_write(*, export_id: int, now: datetime) -> FeedExport | None:
    """Step 2 (and 3): write an export's file atomically and set `written_at`. Returns the export, or None
    when it was written already or another run holds it (that run writes it)."""
    with transaction.atomic():
        export = (FeedExport.objects.select_for_update(skip_locked=True)
                  .filter(pk=export_id, written_at__isnull=True).first())
        if export is None:
            return None
        _file_write(export)
        export.written_at = now
        export.save(update_fields=["written_at"])
    return export


def _file_write(export: FeedExport) -> Path:
    """The export's rows, from its messages in primary-key order, to a temporary name, fsynced, then renamed."""
    folder = outbox_folder(export.kind)
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / export.file_name
    temporary = folder / f".{export.file_name}.{uuid.uuid4().hex[:12]}.tmp"
    header = HEADERS[export.kind]
    try:
        with open(temporary, "w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=header, restval="", extrasaction="ignore")
            writer.writeheader()
            for payload in export.messages.order_by("pk").values_list("payload", flat=True).iterator():
                writer.writerows({key: csv_cell_safe(value) for key, value in row.items()}
                                 for row in payload.get("rows", []))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, final)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _fsync_folder(folder)
    return final


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (the folder's entry), where the platform allows opening a folder."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def temp_files_clean(*, older_than: timedelta = TEMP_MAX_AGE) -> int:
    """Step 4: remove temporary files a crashed writer left in the outbox folders. Returns how many."""
    limit = time.time() - older_than.total_seconds()
    removed = 0
    for kind in Kind.values:
        folder = outbox_folder(kind)
        if not folder.is_dir():
            continue
        for entry in folder.iterdir():
            if entry.name.startswith(".") and entry.name.endswith(".tmp"):
                try:
                    if entry.stat().st_mtime < limit:
                        entry.unlink()
                        removed += 1
                except FileNotFoundError:
                    pass  # another run removed it
    return removed


# --- The run -----------------------------------------------------------------------------------------


@dataclass
class ExportRun:
    """What one run did: requests sent, cancellations written, files written (new ones and rewrites)."""

    sent: int = 0
    canceled: int = 0
    rewritten: list[FeedExport] = field(default_factory=list)
    written: dict[str, FeedExport] = field(default_factory=dict)

    def lines(self) -> list[str]:
        out = [f"allocations sent: {self.sent} request(s), {self.canceled} cancellation(s)"]
        out += [f"{export.kind}: {export.rows} rows → {feed_export_path(export)} (left unwritten by an earlier run)"
                for export in self.rewritten]
        for kind in Kind.values:
            export = self.written.get(kind)
            out.append(f"{kind}: {export.rows} rows → {feed_export_path(export)}" if export
                       else f"{kind}: nothing to export")
        return out


def erp_feeds_export(*, now: datetime | None = None) -> ExportRun:
    """One export run: finish the files a crash left unwritten, send WMS requests, write cancellations,
    then one file per kind with everything PENDING. Safe to run twice or at once (module docstring).
    Must not run inside another transaction: each step commits on its own."""
    now = now or timezone.now()
    if transaction.get_connection().in_atomic_block:
        raise RuntimeError("erp_feeds_export commits step by step: call it outside a transaction")
    run = ExportRun()
    temp_files_clean()
    for export_id in FeedExport.objects.filter(written_at__isnull=True).order_by("pk").values_list("pk", flat=True):
        export = feed_export_write(export_id=export_id, now=now)
        if export is not None:
            run.rewritten.append(export)
    run.sent = wms_requests_send(now=now)
    run.canceled = allocation_cancels_write(now=now)
    for kind in Kind.values:
        export = _export_create(kind=kind, now=now)
        if export is not None:
            written = feed_export_write(export_id=export.pk, now=now)
            run.written[kind] = written or export
    return run
