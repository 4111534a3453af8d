"""The inventory feed: CSV stock counts from the shop or the ERP, applied through stores.stock (docs/feeds.md)."""

import re
import zoneinfo
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from oms.feeds.files import (
    CsvRow,
    FeedImport,
    FeedRefused,
    chunks,
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
from oms.models import FeedFile, Product
from stores.models import Facility, StockLevel
from stores.stock import Count, stock_set_counts

KIND = FeedFile.Kind.INVENTORY
REQUIRED = ["facility", "sku", "on_hand", "counted_at"]
OPTIONAL = ["bin"]
# Clocks of the shop, the ERP and ours differ a little: a count up to this far ahead is taken as now-ish.
FUTURE_TOLERANCE = timedelta(minutes=5)
MAX_ON_HAND = 2**31 - 1
BIN_LENGTH = StockLevel._meta.get_field("bin_location").max_length
WHOLE_NUMBER = re.compile(r"[0-9]+")


def inventory_feed_import(
    file, *, name: str, source: str, actor=None, now: datetime | None = None,
) -> FeedImport:
    """Import one inventory file (a binary file object: an upload, a dropped file, a path opened by the command).

    The file is stored and recognised by its content: content already imported (or being imported right
    now by another process) changes nothing and comes back as `duplicate` with the first import's report.
    Otherwise its valid rows are applied chunk by chunk (FEED_IMPORT_CHUNK rows per transaction) and its
    report is the returned FeedFile. A file that cannot be read as a whole is REFUSED and changes nothing.
    """
    now = now or timezone.now()
    return feed_import(file, kind=KIND, name=name, source=source, actor=actor, now=now,
                       apply=lambda feed_id, claim: _inventory_apply(feed_id, claim, actor=actor, now=now))


def inventory_drops_import(*, now: datetime) -> list[tuple[str, FeedImport | None]]:
    """Import every file dropped in FEEDS_DIR/inbox/inventory/ (the stand-in for an SFTP drop)."""
    return feed_drops_import(kind=KIND, now=now, import_file=inventory_feed_import)


def _inventory_apply(feed_id: int, claim, *, actor, now: datetime) -> FeedFile:
    feed = FeedFile.objects.get(pk=feed_id)
    path = feed_file_path(feed)
    try:
        names = csv_header(path, required=REQUIRED, optional=OPTIONAL)
        total = csv_count(path)
    except FeedRefused as refusal:
        return feed_file_finish(feed_id=feed_id, claim=claim, now=now, refused=str(refusal))
    FeedFile.objects.filter(pk=feed_id, claim=claim).update(rows_total=total)
    columns = {column: index for index, column in enumerate(names)}
    source = f"feed #{feed_id} {feed.name}"[:120]
    for chunk in chunks(csv_rows(path, after_line=feed.lines_done), settings.FEED_IMPORT_CHUNK):
        _inventory_chunk(feed_id, claim, chunk, columns=columns, actor=actor, source=source, now=now)
    return feed_file_finish(feed_id=feed_id, claim=claim, now=now)


def _inventory_chunk(feed_id: int, claim, rows: list[CsvRow], *, columns: dict[str, int], actor, source: str,
                     now: datetime) -> None:
    """Check one chunk's rows, then apply the valid ones and record the chunk's report in one transaction."""
    problems: list[tuple[int, str, str]] = []
    valid: list[tuple[CsvRow, list[str]]] = []
    for row in rows:
        if len(row.fields) != len(columns):
            problems.append((row.line, f"expected {len(columns)} columns, found {len(row.fields)}", row.raw()))
        else:
            valid.append((row, [row.fields[columns[name]].strip() for name in (*REQUIRED, "bin") if name in columns]))
    # Looked up per chunk: memory stays bounded whatever the file's size.
    facilities = {
        code: (pk, zoneinfo.ZoneInfo(zone))
        for code, pk, zone in Facility.objects.filter(code__in={values[0] for _, values in valid})
        .values_list("code", "pk", "time_zone")
    }
    products = dict(Product.objects.filter(sku__in={values[1] for _, values in valid}).values_list("sku", "pk"))
    counts: list[Count] = []
    for row, values in valid:
        code, sku, on_hand, counted_at = values[:4]
        bin_location = values[4] if len(values) > 4 else ""
        reasons = []
        facility = facilities.get(code)
        if facility is None:
            reasons.append(f"unknown facility {code!r}" if code else "facility is empty")
        if sku not in products:
            reasons.append(f"unknown SKU {sku!r}" if sku else "sku is empty")
        if not WHOLE_NUMBER.fullmatch(on_hand) or int(on_hand) > MAX_ON_HAND:
            reasons.append(f"on_hand {on_hand!r} is not a whole number of 0 or more")
        when, problem = count_time(counted_at, zone=facility[1] if facility else None, now=now)
        if problem:
            reasons.append(problem)
        if len(bin_location) > BIN_LENGTH:
            reasons.append(f"bin is longer than {BIN_LENGTH} characters")
        if reasons:
            problems.append((row.line, "; ".join(reasons), row.raw()))
        else:
            counts.append(Count(facility[0], products[sku], int(on_hand), when, bin_location))
    problems.sort()
    with transaction.atomic():
        feed = feed_file_lock(feed_id=feed_id, claim=claim)
        deltas = stock_set_counts(counts=counts, actor=actor, source=source, now=now)
        feed_chunk_record(
            feed, lines_done=rows[-1].line, problems=problems, now=now,
            rows_applied=sum(1 for delta in deltas if delta), rows_unchanged=deltas.count(0),
            rows_stale=deltas.count(None),
        )


def count_time(text: str, *, zone: zoneinfo.ZoneInfo | None, now: datetime) -> tuple[datetime | None, str]:
    """Parse an ISO 8601 count time; a time without offset is in the facility's zone. Returns (time, problem)."""
    if not text:
        return None, "counted_at is empty"
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None, f"counted_at {text[:40]!r} is not an ISO 8601 date and time (e.g. 2025-03-01T18:30:00+01:00)"
    if "T" not in text.upper() and " " not in text:
        return None, f"counted_at {text[:40]!r} has no time of day"
    if value.tzinfo is None:
        if zone is None:  # the facility is unknown (already reported): no zone to read it in
            return None, ""
        value = value.replace(tzinfo=zone)
    if value > now + FUTURE_TOLERANCE:
        return None, f"counted_at {text[:40]!r} is in the future"
    return value, ""
