"""Every change of on_hand or reserved, each written to the stock ledger (InventoryAdjustment).

Nothing else in Storefill writes StockLevel.on_hand or .reserved. Counters move with F()
expressions or under a row lock, never read-then-write, so concurrent runs cannot oversell.
"""

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import NamedTuple

from django.db import connection
from django.db.models import F, Sum
from django.utils import timezone

from oms.db import ids_in, pg_array, rows_insert
from stores.models import InventoryAdjustment, StockLevel

Reason = InventoryAdjustment.Reason


class StockError(Exception):
    """A stock change that would break the ledger (e.g. releasing more than is reserved)."""


def _require_transaction() -> None:
    if not connection.in_atomic_block:
        raise RuntimeError("stock changes must run inside the transaction of the change that causes them")


def stock_level_get_or_create(*, facility_id: int, product_id: int) -> StockLevel:
    level, _ = StockLevel.objects.get_or_create(facility_id=facility_id, product_id=product_id)
    return level


def stock_levels_lock(*, pks: Iterable[int]) -> dict[int, StockLevel]:
    """Lock stock rows in primary-key order (so two transactions never deadlock) and return them."""
    rows = StockLevel.objects.filter(pk__in=set(pks)).order_by("pk").select_for_update(of=("self",))
    return {row.pk: row for row in rows}


def _write(level_id: int, *, on_hand: int = 0, reserved: int = 0, reason: str, actor, source: str,
           order_line_id: int | None, now: datetime, note: str = "") -> InventoryAdjustment:
    return InventoryAdjustment.objects.create(
        stock_level_id=level_id, on_hand_delta=on_hand, reserved_delta=reserved, reason=reason,
        actor=actor, source=source[:120], order_line_id=order_line_id, created_at=now, note=note[:200],
    )


def stock_reserve(
    *, facility_id: int, product_id: int, quantity: int, actor=None, source: str = "",
    order_line_id: int | None = None, now: datetime | None = None,
) -> bool:
    """Reserve `quantity` units if they are available; return whether it happened.

    One conditional UPDATE: it succeeds only while on_hand − reserved − safety_stock ≥ quantity,
    and PostgreSQL re-checks that condition against the latest committed row, so two transactions
    can never reserve the same units. Nothing is written when it fails.
    """
    _require_transaction()
    if quantity <= 0:
        raise StockError("reserve a positive quantity")
    now = now or timezone.now()
    level_id = (
        StockLevel.objects.filter(facility_id=facility_id, product_id=product_id).values_list("pk", flat=True).first()
    )
    if level_id is None:
        return False
    updated = StockLevel.objects.filter(
        pk=level_id, on_hand__gte=F("reserved") + F("safety_stock") + quantity
    ).update(reserved=F("reserved") + quantity, updated_at=now)
    if not updated:
        return False
    _write(level_id, reserved=quantity, reason=Reason.RESERVE, actor=actor, source=source,
           order_line_id=order_line_id, now=now)
    return True


def stock_release(
    *, facility_id: int, product_id: int, quantity: int, actor=None, source: str = "",
    order_line_id: int | None = None, now: datetime | None = None, note: str = "",
) -> None:
    """Give back a reservation (line canceled, rejected, rerouted, or put back on the shelf)."""
    _require_transaction()
    now = now or timezone.now()
    level_id = (
        StockLevel.objects.filter(facility_id=facility_id, product_id=product_id).values_list("pk", flat=True).first()
    )
    updated = StockLevel.objects.filter(pk=level_id, reserved__gte=quantity).update(
        reserved=F("reserved") - quantity, updated_at=now
    ) if level_id else 0
    if not updated:
        raise StockError(f"cannot release {quantity} at facility {facility_id} for product {product_id}: not reserved")
    _write(level_id, reserved=-quantity, reason=Reason.RELEASE, actor=actor, source=source,
           order_line_id=order_line_id, now=now, note=note)


def stock_consume(
    *, facility_id: int, product_id: int, quantity: int, actor=None, source: str = "",
    order_line_id: int | None = None, now: datetime | None = None,
) -> None:
    """Units left the building (handover to carrier or customer): on_hand and reserved drop together.

    on_hand never goes below zero: if fewer units were on record than were handed over, the gap
    is recorded as a discrepancy first, so the ledger still adds up.
    """
    _require_transaction()
    now = now or timezone.now()
    level = StockLevel.objects.select_for_update().get(facility_id=facility_id, product_id=product_id)
    if level.reserved < quantity:
        raise StockError(f"cannot hand over {quantity} of product {product_id}: only {level.reserved} reserved")
    if level.on_hand < quantity:
        gap = quantity - level.on_hand
        _write(level.pk, on_hand=gap, reason=Reason.DISCREPANCY, actor=actor, source=source,
               order_line_id=order_line_id, now=now, note=f"handed over {gap} more than on record")
    StockLevel.objects.filter(pk=level.pk).update(
        on_hand=F("on_hand") + max(0, quantity - level.on_hand) - quantity,
        reserved=F("reserved") - quantity,
        updated_at=now,
    )
    _write(level.pk, on_hand=-quantity, reserved=-quantity, reason=Reason.HANDOVER, actor=actor, source=source,
           order_line_id=order_line_id, now=now)


def stock_levels_open(
    *, levels: list[tuple[int, int, int, str]], actor=None, source: str = "", now: datetime | None = None,
) -> int:
    """Open new stock levels with their first receipt, in bulk: [(facility_id, product_id, on_hand, bin)].

    For setting up a facility (seed, first inventory load): one stock row and one RECEIPT entry each,
    written set-wise because one stock_adjust per row is far too slow for thousands of rows. Pairs that
    already have a stock level are skipped (their stock moves only through the functions above).
    Returns how many were opened.
    """
    _require_transaction()
    now = now or timezone.now()
    existing = set(
        StockLevel.objects.filter(facility_id__in={f for f, _, _, _ in levels}).values_list("facility_id", "product_id")
    )
    new = {(f, p): (on_hand, bin_location) for f, p, on_hand, bin_location in levels if (f, p) not in existing}
    if any(on_hand < 0 for on_hand, _ in new.values()):
        raise StockError("opening stock cannot be negative")
    pairs = list(new)
    level_ids = rows_insert(
        model=StockLevel,
        columns=["facility_id", "product_id", "on_hand", "reserved", "safety_stock", "bin_location",
                 "last_counted_at", "updated_at"],
        rows=[(f, p, new[(f, p)][0], 0, 0, new[(f, p)][1], None, now) for f, p in pairs],
        ids=True,
    )
    rows_insert(
        model=InventoryAdjustment,
        columns=["stock_level_id", "on_hand_delta", "reserved_delta", "reason", "note", "actor_id", "source",
                 "order_line_id", "created_at"],
        rows=[(level_id, new[pair][0], 0, Reason.RECEIPT, "opening stock", getattr(actor, "pk", None),
               source[:120], None, now)
              for level_id, pair in zip(level_ids, pairs, strict=True) if new[pair][0]],
    )
    return len(new)


def stock_adjust(
    *, facility_id: int, product_id: int, delta: int, reason: str, actor=None, source: str = "",
    order_line_id: int | None = None, note: str = "", now: datetime | None = None,
) -> int:
    """Change on_hand by `delta` (receipt, damage, short pick, rejection); return the delta applied.

    A decrease larger than what is on hand stops at zero.
    """
    _require_transaction()
    now = now or timezone.now()
    level = StockLevel.objects.select_for_update().filter(facility_id=facility_id, product_id=product_id).first()
    if level is None:
        level = stock_level_get_or_create(facility_id=facility_id, product_id=product_id)
        level = StockLevel.objects.select_for_update().get(pk=level.pk)
    applied = max(delta, -level.on_hand)
    if applied == 0:
        return 0
    StockLevel.objects.filter(pk=level.pk).update(on_hand=F("on_hand") + applied, updated_at=now)
    _write(level.pk, on_hand=applied, reason=reason, actor=actor, source=source,
           order_line_id=order_line_id, now=now, note=note)
    return applied


class Count(NamedTuple):
    """One physical count: `counted` units of a product at a facility at `counted_at`; an optional bin location."""

    facility_id: int
    product_id: int
    counted: int
    counted_at: datetime
    bin_location: str = ""


def stock_set_count(
    *, facility_id: int, product_id: int, counted: int, counted_at: datetime, actor=None, source: str = "",
    now: datetime | None = None,
) -> int | None:
    """Apply a physical count taken at `counted_at`; return the on_hand delta (None if stale).

    on_hand becomes the counted quantity plus every on_hand movement recorded after the count was
    taken, so a late file never brings back units that left since. A count older than the newest
    one applied is ignored. reserved is never changed by a count.
    """
    [delta] = stock_set_counts(counts=[Count(facility_id, product_id, counted, counted_at)], actor=actor,
                               source=source, now=now)
    return delta


def stock_set_counts(
    *, counts: Sequence[Count], actor=None, source: str = "", now: datetime | None = None,
) -> list[int | None]:
    """Apply many counts at once (one chunk of an inventory feed); return each count's on_hand delta (None: stale).

    The same as stock_set_count for each count in order, set-wise: missing stock levels are created, the
    chunk's levels are locked in primary-key order with one statement, one query adds up each count's
    on_hand movements (every reason but COUNT) recorded after its count time, and the new on_hand values
    and their COUNT entries are written in bulk. A product counted twice in the chunk is counted twice in
    order (the newer count wins; one not newer than the one before it is stale). A non-empty bin location
    replaces the level's bin when the count is not stale.
    """
    _require_transaction()
    if any(count.counted < 0 for count in counts):
        raise StockError("a count cannot be negative")
    if not counts:
        return []
    now = now or timezone.now()
    level_of = _levels_get_or_create({(c.facility_id, c.product_id) for c in counts}, now=now)
    ids = sorted(set(level_of.values()))
    state = {pk: [on_hand, last_counted_at, bin_location]
             for pk, on_hand, last_counted_at, bin_location in _levels_lock_for_count(ids)}
    moved = _moved_since([(level_of[(c.facility_id, c.product_id)], c.counted_at) for c in counts])
    deltas: list[int | None] = []
    entries = []
    actor_id = actor.pk if actor is not None else None
    for count, moved_since in zip(counts, moved, strict=True):
        level_id = level_of[(count.facility_id, count.product_id)]
        current = state[level_id]
        if current[1] is not None and count.counted_at <= current[1]:
            deltas.append(None)
            continue
        target = max(0, count.counted + moved_since)
        delta = target - current[0]
        current[0], current[1] = target, count.counted_at
        if count.bin_location:
            current[2] = count.bin_location
        deltas.append(delta)
        if delta:
            entries.append((level_id, delta, 0, Reason.COUNT,
                            f"counted {count.counted} at {count.counted_at.isoformat()}"[:200], actor_id,
                            source[:120], None, now))
    changed = {level_of[(c.facility_id, c.product_id)] for c, d in zip(counts, deltas, strict=True) if d is not None}
    _levels_write_counts({pk: state[pk] for pk in sorted(changed)}, now=now)
    rows_insert(model=InventoryAdjustment, columns=ADJUSTMENT_COLUMNS, rows=entries)
    return deltas


def _levels_get_or_create(pairs: set[tuple[int, int]], *, now: datetime) -> dict[tuple[int, int], int]:
    """The stock level id of every (facility_id, product_id), creating the missing ones (empty, no ledger entry)."""
    found = _levels_find(pairs)
    missing = sorted(pairs - found.keys())  # sorted: two imports inserting the same new rows never deadlock
    if not missing:
        return found
    if connection.vendor != "postgresql":
        StockLevel.objects.bulk_create(
            [StockLevel(facility_id=f, product_id=p, updated_at=now) for f, p in missing],
            ignore_conflicts=True, batch_size=500,
        )
    else:  # one statement: bulk_create builds and quotes every value in Python, several times slower
        with connection.cursor() as cursor:
            cursor.execute(
                """
                INSERT INTO stores_stocklevel (facility_id, product_id, on_hand, reserved, safety_stock,
                                               bin_location, updated_at)
                SELECT v.facility_id, v.product_id, 0, 0, 0, '', %s
                  FROM unnest(%s::bigint[], %s::bigint[]) WITH ORDINALITY AS v(facility_id, product_id, n)
                 ORDER BY v.n
                    ON CONFLICT (facility_id, product_id) DO NOTHING
                """,
                [now, pg_array(f for f, _ in missing), pg_array(p for _, p in missing)],
            )
    found.update(_levels_find(set(missing)))
    return found


def _levels_find(pairs: set[tuple[int, int]]) -> dict[tuple[int, int], int]:
    if connection.vendor != "postgresql":  # the SQLite demo: one query per facility
        by_facility: dict[int, list[int]] = {}
        for facility_id, product_id in pairs:
            by_facility.setdefault(facility_id, []).append(product_id)
        return {
            (f, p): pk
            for facility_id, products in by_facility.items()
            for pk, f, p in StockLevel.objects.filter(facility_id=facility_id, product_id__in=products)
            .values_list("pk", "facility_id", "product_id")
        }
    facilities, products = zip(*pairs, strict=True) if pairs else ((), ())
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT s.facility_id, s.product_id, s.id FROM stores_stocklevel s "
            "JOIN unnest(%s::bigint[], %s::bigint[]) AS v(facility_id, product_id) "
            "ON s.facility_id = v.facility_id AND s.product_id = v.product_id",
            [pg_array(facilities), pg_array(products)],
        )
        return {(f, p): pk for f, p, pk in cursor.fetchall()}


def _levels_lock_for_count(ids: list[int]) -> list[tuple[int, int, datetime | None, str]]:
    """Lock the rows in primary-key order in one statement: [(id, on_hand, last_counted_at, bin_location)]."""
    rows = StockLevel.objects.filter(ids_in(StockLevel, "pk", ids)).order_by("pk")
    if connection.vendor == "postgresql":  # SQLite locks the whole database for a writer: a plain read will do
        rows = rows.select_for_update(of=("self",))
    return list(rows.values_list("pk", "on_hand", "last_counted_at", "bin_location"))


def _moved_since(rows: list[tuple[int, datetime]]) -> list[int]:
    """For each (stock_level_id, time): the sum of on_hand movements recorded after it, counts left out."""
    if connection.vendor != "postgresql":
        return [
            InventoryAdjustment.objects.filter(stock_level_id=level_id, created_at__gt=at)
            .exclude(reason=Reason.COUNT).aggregate(total=Sum("on_hand_delta"))["total"] or 0
            for level_id, at in rows
        ]
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT v.n, COALESCE(SUM(a.on_hand_delta), 0)
              FROM unnest(%s::bigint[], %s::timestamptz[]) WITH ORDINALITY AS v(level_id, at, n)
              LEFT JOIN stores_inventoryadjustment a
                ON a.stock_level_id = v.level_id AND a.created_at > v.at AND a.reason <> %s
             GROUP BY v.n
            """,
            [pg_array(level_id for level_id, _ in rows), pg_array(at for _, at in rows), Reason.COUNT],
        )
        totals = dict(cursor.fetchall())
    return [totals[n] for n in range(1, len(rows) + 1)]


def _levels_write_counts(levels: dict[int, list], *, now: datetime) -> None:
    """Write on_hand, last_counted_at and bin_location of locked rows: {pk: [on_hand, last_counted_at, bin]}."""
    if not levels:
        return
    if connection.vendor != "postgresql":
        StockLevel.objects.bulk_update(
            [StockLevel(pk=pk, on_hand=on_hand, last_counted_at=at, bin_location=bin_location, updated_at=now)
             for pk, (on_hand, at, bin_location) in levels.items()],
            ["on_hand", "last_counted_at", "bin_location", "updated_at"], batch_size=500,
        )
        return
    with connection.cursor() as cursor:
        # Bins are free text: passed as a real array parameter (pg_array refuses text that needs quoting).
        cursor.execute(
            """
            UPDATE stores_stocklevel AS s
               SET on_hand = v.on_hand, last_counted_at = v.at, bin_location = v.bin_location, updated_at = %s
              FROM unnest(%s::bigint[], %s::integer[], %s::timestamptz[], %s::text[])
                   AS v(id, on_hand, at, bin_location)
             WHERE s.id = v.id
            """,
            [now, pg_array(levels), pg_array(state[0] for state in levels.values()),
             pg_array(state[1] for state in levels.values()), [state[2] for state in levels.values()]],
        )


def ledger_totals() -> dict[int, tuple[int, int]]:
    """on_hand and reserved of every stock level as the ledger adds them up: {pk: (on_hand, reserved)}."""
    rows = InventoryAdjustment.objects.values("stock_level_id").annotate(
        on_hand=Sum("on_hand_delta"), reserved=Sum("reserved_delta")
    )
    return {row["stock_level_id"]: (row["on_hand"] or 0, row["reserved"] or 0) for row in rows}


def ledger_mismatches(*, open_reservations: dict[tuple[int, int], int]) -> list[str]:
    """Compare every stock level with its ledger and with the reservations that should exist.

    `open_reservations` maps (facility_id, product_id) to the units held by open allocations.
    Returns one human-readable line per mismatching row (empty when all reconcile).
    """
    totals = ledger_totals()
    found: list[tuple[int, str]] = []
    have = set()
    # Plain tuples, and names looked up only for the rows that disagree: a network holds hundreds of
    # thousands of stock rows and nearly all of them reconcile.
    rows = StockLevel.objects.order_by("pk").values_list("pk", "facility_id", "product_id", "on_hand", "reserved")
    for pk, facility_id, product_id, on_hand, reserved in rows.iterator(chunk_size=10000):
        have.add((facility_id, product_id))
        ledger_on_hand, ledger_reserved = totals.get(pk, (0, 0))
        expected_reserved = open_reservations.get((facility_id, product_id), 0)
        if on_hand != ledger_on_hand:
            found.append((pk, f"on_hand is {on_hand}, the ledger says {ledger_on_hand}"))
        if reserved != ledger_reserved:
            found.append((pk, f"reserved is {reserved}, the ledger says {ledger_reserved}"))
        if reserved != expected_reserved:
            found.append((pk, f"reserved is {reserved}, open allocations hold {expected_reserved}"))
    names = {
        level.pk: f"stock level {level.pk} ({level.facility.code} / {level.product.sku})"
        for level in StockLevel.objects.filter(pk__in={pk for pk, _ in found}).select_related("facility", "product")
    }
    problems = [f"{names[pk]}: {message}" for pk, message in found]
    known = {key for key in open_reservations if open_reservations[key]}
    for facility_id, product_id in sorted(known - have):
        problems.append(f"facility {facility_id} / product {product_id}: allocated lines but no stock level")
    return problems


def _per_level(rows: list[tuple[int, int, int | None]]) -> dict[int, int]:
    totals: dict[int, int] = {}
    for level_id, quantity, _ in rows:
        if quantity <= 0:
            raise StockError("reserve and release positive quantities")
        totals[level_id] = totals.get(level_id, 0) + quantity
    return totals


ADJUSTMENT_COLUMNS = ["stock_level_id", "on_hand_delta", "reserved_delta", "reason", "note", "actor_id", "source",
                      "order_line_id", "created_at"]


def _ledger_write_many(rows: list[tuple[int, int, int | None]], *, sign: int, reason: str, actor, source: str,
                       now: datetime) -> None:
    actor_id = actor.pk if actor is not None else None
    rows_insert(
        model=InventoryAdjustment, columns=ADJUSTMENT_COLUMNS,
        rows=[(level_id, 0, sign * quantity, reason, "", actor_id, source[:120], line_id, now)
              for level_id, quantity, line_id in rows],
    )


def stock_available_lock(*, pks: Iterable[int]) -> dict[int, int]:
    """Lock stock rows in primary-key order and return what each has available now: {pk: units}."""
    _require_transaction()
    rows = _levels_lock(sorted(set(pks)))
    return {pk: max(0, on_hand - reserved - safety) for pk, on_hand, reserved, safety in rows}


def _levels_lock(ids: list[int]) -> list[tuple[int, int, int, int]]:
    """Lock the rows in primary-key order in one statement: [(id, on_hand, reserved, safety_stock)]."""
    if connection.vendor != "postgresql":  # SQLite locks the whole database for a writer: a plain read will do
        return list(StockLevel.objects.filter(pk__in=ids).order_by("pk").values_list(
            "pk", "on_hand", "reserved", "safety_stock"))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, on_hand, reserved, safety_stock FROM stores_stocklevel WHERE id = ANY(%s::bigint[]) "
            "ORDER BY id FOR UPDATE",
            [pg_array(ids)],
        )
        return cursor.fetchall()


def stock_reserve_many(
    *, reservations: list[tuple[int, int, int | None]], actor=None, source: str = "", now: datetime,
    rows_locked: bool = False,
) -> set[int]:
    """Reserve many quantities at once: [(stock_level_id, quantity, order_line_id)]; return the short rows.

    The set-wise stock_reserve for brokering runs. The rows are locked in primary-key order (so two
    runs never deadlock), then one guarded UPDATE adds each row's total while on_hand − reserved −
    safety_stock still covers it. A row that cannot cover its total reserves nothing and its id is
    returned; every other reservation gets its RESERVE entry in the ledger (one bulk insert).
    With `rows_locked` the caller already holds the rows' locks (taken in primary-key order in this
    transaction, e.g. by stock_available_lock): they are not locked again.
    """
    _require_transaction()
    totals = _per_level(reservations)
    if not totals:
        return set()
    ids = sorted(totals)
    if not rows_locked:
        _levels_lock(ids)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                """
                UPDATE stores_stocklevel AS s
                   SET reserved = s.reserved + v.quantity, updated_at = %s
                  FROM unnest(%s::bigint[], %s::integer[]) AS v(id, quantity)
                 WHERE s.id = v.id AND s.on_hand - s.reserved - s.safety_stock >= v.quantity
                RETURNING s.id
                """,
                [now, pg_array(ids), pg_array(totals[pk] for pk in ids)],
            )
            reserved = {row[0] for row in cursor.fetchall()}
    else:  # SQLite (the demo) has one writer at a time: one guarded update per row is enough
        reserved = {
            pk for pk in ids
            if StockLevel.objects.filter(pk=pk, on_hand__gte=F("reserved") + F("safety_stock") + totals[pk])
            .update(reserved=F("reserved") + totals[pk], updated_at=now)
        }
    _ledger_write_many([row for row in reservations if row[0] in reserved], sign=1, reason=Reason.RESERVE,
                       actor=actor, source=source, now=now)
    return set(ids) - reserved


def stock_release_many(
    *, releases: list[tuple[int, int, int | None]], actor=None, source: str = "", now: datetime,
) -> None:
    """Give back many reservations at once: [(stock_level_id, quantity, order_line_id)].

    Rows are locked in primary-key order; raises StockError (and changes nothing) when a row holds
    less reserved than is released from it.
    """
    _require_transaction()
    totals = _per_level(releases)
    if not totals:
        return
    ids = sorted(totals)
    levels = stock_levels_lock(pks=ids)
    short = [pk for pk in ids if pk not in levels or levels[pk].reserved < totals[pk]]
    if short:
        raise StockError(f"cannot release more than is reserved at stock levels {short}")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                """
                UPDATE stores_stocklevel AS s
                   SET reserved = s.reserved - v.quantity, updated_at = %s
                  FROM unnest(%s::bigint[], %s::integer[]) AS v(id, quantity)
                 WHERE s.id = v.id
                """,
                [now, pg_array(ids), pg_array(totals[pk] for pk in ids)],
            )
    else:
        for pk in ids:
            StockLevel.objects.filter(pk=pk).update(reserved=F("reserved") - totals[pk], updated_at=now)
    _ledger_write_many(releases, sign=-1, reason=Reason.RELEASE, actor=actor, source=source, now=now)
