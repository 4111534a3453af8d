"""The brokering benchmark: builds a synthetic world, times one brokering run over it, and checks what the run wrote."""

import ctypes
import gc
import random
import resource
import time
import zoneinfo
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from fulfillment.ledger import stock_ledger_problems
from fulfillment.models import PickJob
from oms.models import (
    BrokeringRun,
    FulfillmentRequest,
    Order,
    OrderLine,
    Product,
    RoutingDecision,
    RoutingRule,
    TransitionLog,
)
from oms.routing.bench.reference import order_sort_key, reference_decide
from oms.routing.load import rules_ensure_defaults
from oms.routing.runs import brokering_run
from stores.models import Facility, InventoryAdjustment, StockLevel
from stores.stock import stock_levels_open

QUEUE = OrderLine.Queue.BROKERING
SAMPLE_SIZE = 200
MAX_SPLIT = 3
SOURCE = "bench_brokering"

# The world's shape (shares are of facilities, products or orders).
WAREHOUSE_EVERY = 10  # every 10th facility is a warehouse
STOCKED_SHARE = 0.40  # each SKU has a stock row in about 40 % of facilities
MAX_ON_HAND = 20
SOLD_OUT_SHARE = 0.01  # SKUs whose stock rows all hold 0 units
SAFETY_STOCK_EVERY = 10  # every 10th stock row keeps one unit of safety stock
PICKUP_SHARE = 0.10
PICKUP_HOLDS_SHARE = 0.90  # pickup orders whose store holds every item
# Orders with a sold-out SKU; with the pickup orders whose store lacks items, about 5 % cannot be filled.
SOLD_OUT_ORDER_SHARE = 0.04
LINE_COUNTS, LINE_COUNT_WEIGHTS = (1, 2, 3, 4), (2, 3, 3, 2)  # 2.5 lines on average
QUANTITIES, QUANTITY_WEIGHTS = (1, 2, 3), (7, 2, 1)
LOCATED_SHARE = 0.92  # addresses with coordinates; of the rest most have a known postal code, a few none
STOCK_CHUNK = 50_000
ORDER_CHUNK = 5_000


@dataclass(frozen=True)
class Metro:
    city: str
    state: str
    zip: str
    latitude: float
    longitude: float
    time_zone: str


METROS = (
    Metro("New York", "NY", "10012", 40.7237, -73.9982, "America/New_York"),
    Metro("Boston", "MA", "02116", 42.3480, -71.0820, "America/New_York"),
    Metro("Philadelphia", "PA", "19103", 39.9517, -75.1680, "America/New_York"),
    Metro("Washington", "DC", "20007", 38.9050, -77.0630, "America/New_York"),
    Metro("Atlanta", "GA", "30326", 33.8470, -84.3620, "America/New_York"),
    Metro("Miami", "FL", "33139", 25.7906, -80.1400, "America/New_York"),
    Metro("Charlotte", "NC", "28202", 35.2271, -80.8431, "America/New_York"),
    Metro("Detroit", "MI", "48226", 42.3314, -83.0458, "America/Detroit"),
    Metro("Columbus", "OH", "43215", 39.9612, -82.9988, "America/New_York"),
    Metro("Chicago", "IL", "60611", 41.8976, -87.6240, "America/Chicago"),
    Metro("Minneapolis", "MN", "55403", 44.9778, -93.2650, "America/Chicago"),
    Metro("St. Louis", "MO", "63101", 38.6270, -90.1994, "America/Chicago"),
    Metro("Nashville", "TN", "37203", 36.1627, -86.7816, "America/Chicago"),
    Metro("Dallas", "TX", "75225", 32.8686, -96.7735, "America/Chicago"),
    Metro("Houston", "TX", "77056", 29.7390, -95.4627, "America/Chicago"),
    Metro("Austin", "TX", "78701", 30.2672, -97.7431, "America/Chicago"),
    Metro("Kansas City", "MO", "64105", 39.0997, -94.5786, "America/Chicago"),
    Metro("Denver", "CO", "80206", 39.7170, -104.9530, "America/Denver"),
    Metro("Salt Lake City", "UT", "84101", 40.7684, -111.8910, "America/Denver"),
    Metro("Phoenix", "AZ", "85004", 33.4484, -112.0740, "America/Phoenix"),
    Metro("Las Vegas", "NV", "89101", 36.1699, -115.1398, "America/Los_Angeles"),
    Metro("Los Angeles", "CA", "90036", 34.0720, -118.3570, "America/Los_Angeles"),
    Metro("San Diego", "CA", "92101", 32.7157, -117.1611, "America/Los_Angeles"),
    Metro("San Francisco", "CA", "94103", 37.7841, -122.4075, "America/Los_Angeles"),
    Metro("Portland", "OR", "97204", 45.5190, -122.6780, "America/Los_Angeles"),
    Metro("Seattle", "WA", "98101", 47.6120, -122.3370, "America/Los_Angeles"),
)


class BenchError(Exception):
    """The benchmark refuses to run (e.g. on a database it does not own)."""


@dataclass
class BenchConfig:
    orders: int
    facilities: int
    skus: int
    seed: int = 1
    sample: int = SAMPLE_SIZE


@dataclass
class BenchWorld:
    """What the builder made, as far as the checks need it."""

    order_ids: list[int]
    lines: int
    units: int
    sample_ids: list[int]


@dataclass
class Snapshot:
    """The world before the run as plain data, for the reference to decide the sampled orders against."""

    facilities: dict[int, dict]
    # Only the sampled orders' products: no other stock can change their decisions.
    stock: dict[tuple[int, int], int]
    rules: list[dict]
    orders: dict[int, dict]  # sampled order id -> the reference's order shape


@dataclass
class Check:
    name: str
    ok: bool
    detail: str = ""


@dataclass
class BenchResult:
    orders: int
    lines: int
    seconds: float
    peak_rss_mb: int
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    def summary_line(self) -> str:
        rate = self.orders / self.seconds if self.seconds else 0.0
        return (f"orders={self.orders} lines={self.lines} seconds={self.seconds:.2f} orders_per_s={rate:.0f} "
                f"peak_rss_mb={self.peak_rss_mb}")


def bench_database_guard(*, force: bool) -> str:
    """The database name, if the benchmark may wipe it: PostgreSQL, and named *bench* unless forced."""
    name = connection.settings_dict["NAME"]
    if connection.vendor != "postgresql":
        raise BenchError(f"the benchmark needs PostgreSQL; the configured database is {connection.vendor}")
    if "bench" not in str(name) and not force:
        raise BenchError(
            f"refusing to wipe database {name!r}: the benchmark deletes every order, product and facility. "
            "Point DATABASE_URL at a database whose name contains 'bench', or pass --force."
        )
    return name


def bench_brokering(*, config: BenchConfig, force: bool = False, write: Callable[[str], None] = print) -> BenchResult:
    """Build the world, time one brokering run of BROKERING, and check its result."""
    name = bench_database_guard(force=force)
    if settings.DEBUG:
        write("note: DEBUG is on, so Django keeps every query it runs: figures are pessimistic (set DEBUG=0)")
    started = time.perf_counter()
    world = bench_world_build(config=config)
    write(f"world on {name}: {config.facilities} facilities, {config.skus} SKUs, {len(world.order_ids)} orders, "
          f"{world.lines} lines, {StockLevel.objects.count()} stock rows "
          f"(built in {time.perf_counter() - started:.1f} s)")
    snapshot = bench_snapshot(world=world)
    analyzed = bench_analyze()
    write(f"analyzed {len(analyzed)} tables holding the world; the tables the run fills keep no statistics")

    run, seconds, peak_rss_mb, rss_note = _run_timed()
    write(f"brokering run {run.pk}: {run.status}, {run.orders_considered} orders, {run.lines_considered} lines, "
          f"{run.lines_allocated} lines allocated, {run.lines_parked} parked in {seconds:.2f} s{rss_note}")
    write(_written_summary(run=run))
    result = BenchResult(orders=len(world.order_ids), lines=world.lines, seconds=seconds, peak_rss_mb=peak_rss_mb)
    result.checks = bench_checks(world=world, snapshot=snapshot, run=run)
    for check in result.checks:
        write(f"[{'ok' if check.ok else 'FAIL'}] {check.name}" + (f": {check.detail}" if check.detail else ""))
    write(result.summary_line())
    return result


# --- The world --------------------------------------------------------------------------------------


def bench_world_wipe() -> None:
    """Delete every order, product, facility and what hangs off them; the bench owns its database."""
    tables = [model._meta.db_table for model in (
        Order, OrderLine, FulfillmentRequest, TransitionLog, RoutingDecision, BrokeringRun, RoutingRule,
        InventoryAdjustment, StockLevel, Product, Facility,
    )]
    # TRUNCATE … CASCADE also empties what references them (pick jobs, shipments, notes, the outbox, …).
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")


def bench_world_build(*, config: BenchConfig, now: datetime | None = None) -> BenchWorld:
    """Wipe, then create the facilities, SKUs, opening stock, routing rules and queued orders of one seed."""
    now = now or timezone.now()
    rng = random.Random(config.seed)
    with transaction.atomic():
        bench_world_wipe()
        _rules_create()
        facilities = _facilities_create(rng=rng, count=config.facilities)
        product_ids, sold_out = _products_create(count=config.skus, rng=rng)
        holdings = _stock_open(rng=rng, facilities=facilities, product_ids=product_ids, sold_out=sold_out, now=now)
        world = _orders_create(rng=rng, config=config, facilities=facilities, product_ids=product_ids,
                               sold_out=sold_out, holdings=holdings, now=now)
    return world


def _rules_create() -> None:
    rules_ensure_defaults()
    # The benchmark's world splits across up to three facilities, whatever the defaults say today.
    RoutingRule.objects.filter(delivery=RoutingRule.Delivery.SHIP, max_facilities__gt=1).update(
        max_facilities=MAX_SPLIT
    )


def _facilities_create(*, rng: random.Random, count: int) -> list[Facility]:
    facilities = []
    for index in range(count):
        metro = METROS[index % len(METROS)]
        place = dict(city=metro.city, postal_code=metro.zip, country="US", time_zone=metro.time_zone,
                     latitude=round(metro.latitude + rng.uniform(-0.6, 0.6), 5),
                     longitude=round(metro.longitude + rng.uniform(-0.6, 0.6), 5),
                     address1=f"{100 + index} Commerce Way", priority=rng.randint(1, 10))
        if index % WAREHOUSE_EVERY == 0:
            facilities.append(Facility(
                code=f"BENCH-WH{index:03d}", name=f"Bench warehouse {index} ({metro.city})",
                kind=Facility.Kind.WAREHOUSE, offers_pickup=False, daily_capacity=None,
                fulfilled_by_wms=index % (2 * WAREHOUSE_EVERY) == 0, **place,
            ))
            continue
        facilities.append(Facility(
            code=f"BENCH-ST{index:03d}", name=f"Bench store {index} ({metro.city})", kind=Facility.Kind.STORE,
            is_active=rng.random() > 0.02,
            offers_ship_from_store=rng.random() < 0.9,
            offers_pickup=rng.random() < 0.7,
            # Unlimited or large: capacity shapes the workload rating but rarely fences a store out.
            daily_capacity=None if rng.random() < 0.3 else rng.randint(400, 1500),
            processing_mode=Facility.Processing.MANUAL if rng.random() < 0.05 else Facility.Processing.AUTOMATIC,
            **place,
        ))
    return Facility.objects.bulk_create(facilities)


def _products_create(*, count: int, rng: random.Random) -> tuple[list[int], set[int]]:
    Product.objects.bulk_create(
        [Product(sku=f"BENCH-{i:06d}", barcode=f"29{i:011d}", name=f"Bench item {i}", weight_grams=300)
         for i in range(1, count + 1)],
        batch_size=2000,
    )
    product_ids = list(Product.objects.order_by("pk").values_list("pk", flat=True))
    sold_out = set(rng.sample(product_ids, max(1, round(count * SOLD_OUT_SHARE))))
    return product_ids, sold_out


def _stock_open(
    *, rng: random.Random, facilities: list[Facility], product_ids: list[int], sold_out: set[int], now: datetime,
) -> dict[int, list[int]]:
    """Open the stock rows with their ledger receipts; return what each pickup store holds plenty of."""
    facility_ids = [facility.pk for facility in facilities]
    pickup_stores = {facility.pk for facility in facilities if facility.is_active and facility.offers_pickup}
    holdings: dict[int, list[int]] = defaultdict(list)
    levels: list[tuple[int, int, int, str]] = []
    for product_id in product_ids:
        spread = round(len(facility_ids) * STOCKED_SHARE * rng.uniform(0.75, 1.25))
        for facility_id in rng.sample(facility_ids, min(len(facility_ids), max(1, spread))):
            on_hand = 0 if product_id in sold_out else rng.randint(0, MAX_ON_HAND)
            levels.append((facility_id, product_id, on_hand, ""))
            # Enough for any line quantity after safety stock, so a pickup order there can be filled.
            if on_hand >= 5 and facility_id in pickup_stores:
                holdings[facility_id].append(product_id)
        if len(levels) >= STOCK_CHUNK:
            stock_levels_open(levels=levels, source=SOURCE, now=now)
            levels = []
    if levels:
        stock_levels_open(levels=levels, source=SOURCE, now=now)
    # Safety stock is not part of the ledger; it only lowers what routing may take.
    StockLevel.objects.alias(slot=F("pk") % SAFETY_STOCK_EVERY).filter(slot=0, on_hand__gt=0).update(safety_stock=1)
    return holdings


def _address(*, rng: random.Random, number: int) -> dict:
    metro = rng.choice(METROS)
    address = {
        "first_name": "Bench", "last_name": f"Customer {number}", "address1": f"{number} Main St",
        "city": metro.city, "province_code": metro.state, "zip": metro.zip, "country_code": "US",
    }
    roll = rng.random()
    if roll < LOCATED_SHARE:
        address["latitude"] = round(metro.latitude + rng.uniform(-1.0, 1.0), 5)
        address["longitude"] = round(metro.longitude + rng.uniform(-1.0, 1.0), 5)
    elif roll > 0.97:
        address["zip"] = "00000"  # no such postal code: the order cannot be located, distance is neutral
    return address


def _orders_create(
    *, rng: random.Random, config: BenchConfig, facilities: list[Facility], product_ids: list[int],
    sold_out: set[int], holdings: dict[int, list[int]], now: datetime,
) -> BenchWorld:
    sellable = [pid for pid in product_ids if pid not in sold_out]
    sold_out_list = sorted(sold_out)
    pickup_stores = sorted(holdings)
    codes = {facility.pk: facility.code for facility in facilities}
    order_ids: list[int] = []
    line_count = units = 0
    for chunk_start in range(0, config.orders, ORDER_CHUNK):
        orders, wanted = [], []
        for number in range(chunk_start + 1, min(config.orders, chunk_start + ORDER_CHUNK) + 1):
            count = rng.choices(LINE_COUNTS, LINE_COUNT_WEIGHTS)[0]
            roll = rng.random()
            store_id = None
            if roll < PICKUP_SHARE and pickup_stores:
                store_id = rng.choice(pickup_stores)
                held = holdings[store_id]
                if rng.random() < PICKUP_HOLDS_SHARE and len(held) >= count:
                    products = rng.sample(held, count)
                else:
                    products = rng.sample(sellable, count)
            elif roll < PICKUP_SHARE + SOLD_OUT_ORDER_SHARE:
                products = [rng.choice(sold_out_list), *rng.sample(sellable, count - 1)]
            else:
                products = rng.sample(sellable, count)
            orders.append(Order(
                external_id=f"bench-{number}", name=f"#B{number:06d}", channel="shopify",
                status=Order.Status.APPROVED, customer_name=f"Bench Customer {number}",
                email=f"customer{number}@bench.example", shipping_address=_address(rng=rng, number=number),
                payment_status="paid", currency="USD", total_price=Decimal("0"),
                ordered_at=now - timedelta(minutes=rng.randint(1, 3 * 24 * 60), seconds=rng.randint(0, 59)),
                received_at=now, approved_at=now,
            ))
            wanted.append((store_id, [(pid, rng.choices(QUANTITIES, QUANTITY_WEIGHTS)[0]) for pid in products]))
        Order.objects.bulk_create(orders, batch_size=2000)
        lines = []
        for order, (store_id, products) in zip(orders, wanted, strict=True):
            order_ids.append(order.pk)
            for index, (product_id, quantity) in enumerate(products, start=1):
                lines.append(OrderLine(
                    order_id=order.pk, external_line_id=f"{order.external_id}-{index}", product_id=product_id,
                    sku=f"BENCH-{product_id:06d}", title=f"Bench item {product_id}", quantity=quantity,
                    unit_price=Decimal("10.00"), status=OrderLine.Status.QUEUED, queue=QUEUE, queued_at=now,
                    pickup_store_code=codes[store_id] if store_id else "", pickup_facility_id=store_id,
                ))
                units += quantity
        OrderLine.objects.bulk_create(lines, batch_size=2000)
        line_count += len(lines)
    sample = sorted(rng.sample(order_ids, min(config.sample, len(order_ids))))
    return BenchWorld(order_ids=order_ids, lines=line_count, units=units, sample_ids=sample)


def bench_analyze() -> list[str]:
    """ANALYZE every table that holds rows; return their names.

    The tables the run fills (requests, pick jobs, the log, …) are left alone on purpose: analysed while
    empty, PostgreSQL believes they stay empty and plans the foreign-key checks of the run's inserts as
    sequential scans, cached for the session, so each insert scans a table that grows all run long
    (10,000 orders: ~60 s instead of ~20 s). A production database with history is never in that state;
    never-analysed tables get the planner's default estimate and indexed checks, as they would there.
    """
    filled = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            quoted = connection.ops.quote_name(table)
            cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {quoted})")
            if cursor.fetchone()[0]:
                filled.append(quoted)
        if filled:
            cursor.execute(f"ANALYZE {', '.join(filled)}")
    return filled


# --- Before and during the run ----------------------------------------------------------------------


def _facilities_plain(*, now: datetime) -> dict[int, dict]:
    """Every facility with its pick jobs created today (in its own time zone) and open now."""
    facilities = {
        row["id"]: row | {"jobs_today": 0, "open_jobs": 0}
        for row in Facility.objects.values(
            "id", "code", "kind", "country", "latitude", "longitude", "is_active", "sells_online",
            "offers_ship_from_store", "offers_pickup", "priority", "daily_capacity", "fulfilled_by_wms",
            "time_zone",
        )
    }
    open_states = (PickJob.Status.OPEN, PickJob.Status.IN_PROGRESS)
    for facility_id, created_at, status in PickJob.objects.values_list("facility_id", "created_at", "status"):
        facility = facilities[facility_id]
        zone = zoneinfo.ZoneInfo(facility["time_zone"])
        if created_at.astimezone(zone).date() == now.astimezone(zone).date():
            facility["jobs_today"] += 1
        if status in open_states:
            facility["open_jobs"] += 1
    return facilities


def _orders_plain(order_ids) -> dict[int, dict]:
    """Orders in the reference's shape, with their original (unsplit) lines."""
    orders = {
        row["id"]: row | {"lines": []}
        for row in Order.objects.filter(pk__in=order_ids).values(
            "id", "name", "channel", "priority", "ordered_at", "shipping_address"
        )
    }
    excluded = defaultdict(set)
    for line_id, facility_id in OrderLine.excluded_facilities.through.objects.filter(
        orderline__order_id__in=order_ids
    ).values_list("orderline_id", "facility_id"):
        excluded[line_id].add(facility_id)
    for row in OrderLine.objects.filter(order_id__in=order_ids, parent__isnull=True).values(
        "id", "order_id", "product_id", "quantity", "kind", "pickup_facility_id", "promise_date"
    ):
        orders[row["order_id"]]["lines"].append(row | {"excluded": excluded[row["id"]]})
    return orders


def bench_snapshot(*, world: BenchWorld) -> Snapshot:
    orders = _orders_plain(world.sample_ids)
    products = {line["product_id"] for order in orders.values() for line in order["lines"]}
    stock = {
        (facility_id, product_id): max(0, on_hand - reserved - safety)
        for facility_id, product_id, on_hand, reserved, safety in StockLevel.objects.filter(
            product_id__in=products
        ).values_list("facility_id", "product_id", "on_hand", "reserved", "safety_stock")
    }
    return Snapshot(facilities=_facilities_plain(now=timezone.now()), stock=stock,
                    rules=list(RoutingRule.objects.values()), orders=orders)


def _release_free_memory() -> None:
    """Hand memory freed after building back to the OS, so the peak measured is the run's own."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: the peak then includes whatever the builder left
        pass


def _peak_rss_reset() -> bool:
    """Restart the process's peak-RSS mark (Linux: clear_refs 5), so ru_maxrss covers the run only."""
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
        return True
    except OSError:
        return False


def _run_timed() -> tuple[BrokeringRun, float, int, str]:
    _release_free_memory()
    reset = _peak_rss_reset()
    started = time.perf_counter()
    run = brokering_run(queue=QUEUE, trigger="bench")
    seconds = time.perf_counter() - started
    peak_rss_mb = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    note = "" if reset else " (peak RSS could not be reset: it includes building the world)"
    return run, seconds, peak_rss_mb, note


def _written_summary(*, run: BrokeringRun) -> str:
    outcomes = Counter(RoutingDecision.objects.filter(run=run).values_list("outcome", flat=True))
    requests = FulfillmentRequest.objects.count()
    pick_jobs = PickJob.objects.count()
    logs = TransitionLog.objects.count()
    reserves = InventoryAdjustment.objects.filter(reason=InventoryAdjustment.Reason.RESERVE).count()
    shown = ", ".join(f"{count} {outcome}" for outcome, count in sorted(outcomes.items()))
    return (f"written: decisions {shown}; {requests} fulfillment requests, {pick_jobs} pick jobs, "
            f"{reserves} reservations, {logs} transition log rows")


# --- Checks -----------------------------------------------------------------------------------------


@dataclass
class _Part:
    line_id: int
    root_id: int  # the original line this part was split from (itself when not split)
    order_id: int
    status: str
    queue: str
    facility_id: int | None
    product_id: int | None
    quantity: int
    pickup_facility_id: int | None


def _parts(order_ids) -> dict[int, list[_Part]]:
    """Every line of the orders after the run, per order, with splits pointing at their original line."""
    parts: dict[int, list[_Part]] = defaultdict(list)
    rows = OrderLine.objects.filter(order_id__in=order_ids).order_by("pk").values_list(
        "id", "parent_id", "order_id", "status", "queue", "allocated_facility_id", "product_id", "quantity",
        "pickup_facility_id",
    )
    for line_id, parent_id, order_id, status, queue, facility_id, product_id, quantity, pickup_id in rows.iterator(
        chunk_size=5000
    ):
        parts[order_id].append(_Part(line_id, parent_id or line_id, order_id, status, queue, facility_id,
                                     product_id, quantity, pickup_id))
    return parts


def bench_checks(*, world: BenchWorld, snapshot: Snapshot, run: BrokeringRun) -> list[Check]:
    decided = list(RoutingDecision.objects.filter(run=run).order_by("pk").values_list("order_id", "rule_id"))
    parts = _parts(world.order_ids)
    return [
        _check_run(world=world, run=run, decided=decided),
        _check_stock(),
        _check_ledger(),
        _check_lines(world=world, parts=parts),
        _check_splits(parts=parts, decided=decided),
        _check_processing_order(world=world, snapshot=snapshot, decided=decided),
        _check_reference(snapshot=snapshot, parts=parts, decided=decided),
    ]


def _check_run(*, world: BenchWorld, run: BrokeringRun, decided: list[tuple[int, int | None]]) -> Check:
    problems = []
    if run.status != BrokeringRun.Status.SUCCEEDED or run.errors:
        problems.append(f"run ended {run.status} with {len(run.errors)} errors {run.errors[:3]}")
    if (run.orders_considered, run.lines_considered) != (len(world.order_ids), world.lines):
        problems.append(f"considered {run.orders_considered} orders / {run.lines_considered} lines, "
                        f"built {len(world.order_ids)} / {world.lines}")
    decided_ids = [order_id for order_id, _ in decided]
    if len(decided_ids) != len(set(decided_ids)) or set(decided_ids) != set(world.order_ids):
        problems.append(f"{len(decided_ids)} decisions ({len(set(decided_ids))} orders) for "
                        f"{len(world.order_ids)} orders")
    return Check("run succeeded with one decision per order", not problems, "; ".join(problems))


def _check_stock() -> Check:
    over = StockLevel.objects.filter(reserved__gt=F("on_hand")).count()
    into_safety = StockLevel.objects.filter(reserved__gt=F("on_hand") - F("safety_stock")).count()
    ok = over == 0 and into_safety == 0
    return Check("no stock reserved beyond on hand (nor into safety stock)", ok,
                 "" if ok else f"{over} rows reserved > on_hand, {into_safety} reserved into safety stock")


def _check_ledger() -> Check:
    problems = stock_ledger_problems()
    return Check("stock ledger reconciles", not problems,
                 "" if not problems else f"{len(problems)} problems, e.g. {problems[:3]}")


def _check_lines(*, world: BenchWorld, parts: dict[int, list[_Part]]) -> Check:
    allowed = {(OrderLine.Status.QUEUED, OrderLine.Queue.UNFILLABLE), (OrderLine.Status.QUEUED,
               OrderLine.Queue.BOPIS_REJECTED)}
    left, wrong, units = 0, [], 0
    for part in (part for found in parts.values() for part in found):
        units += part.quantity
        if part.status == OrderLine.Status.QUEUED and part.queue == QUEUE:
            left += 1
        elif part.status == OrderLine.Status.ALLOCATED:
            continue
        elif (part.status, part.queue) not in allowed:
            wrong.append(f"line {part.line_id} {part.status}/{part.queue}")
        elif (part.queue == OrderLine.Queue.BOPIS_REJECTED) != (part.pickup_facility_id is not None):
            wrong.append(f"line {part.line_id} parked in {part.queue} (pickup: {part.pickup_facility_id})")
    problems = []
    if left:
        problems.append(f"{left} lines still in {QUEUE}")
    if wrong:
        problems.append(f"{len(wrong)} lines neither allocated nor parked right, e.g. {wrong[:3]}")
    if units != world.units:
        problems.append(f"{units} units on the lines after the run, {world.units} before")
    return Check("every line allocated or parked, units kept", not problems, "; ".join(problems))


def _check_splits(*, parts: dict[int, list[_Part]], decided: list[tuple[int, int | None]]) -> Check:
    whole_only = set(RoutingRule.objects.filter(max_facilities=1).values_list("pk", flat=True))
    rule_of = dict(decided)
    problems = []
    for order_id, found in parts.items():
        ship = {p.facility_id for p in found if p.status == OrderLine.Status.ALLOCATED and p.pickup_facility_id is None}
        wrong_store = [p.line_id for p in found if p.status == OrderLine.Status.ALLOCATED
                       and p.pickup_facility_id is not None and p.facility_id != p.pickup_facility_id]
        if len(ship) > MAX_SPLIT:
            problems.append(f"order {order_id} ships from {len(ship)} facilities")
        if rule_of.get(order_id) in whole_only and len(ship) > 1:
            problems.append(f"order {order_id} split across {len(ship)} facilities under a no-split rule")
        if wrong_store:
            problems.append(f"order {order_id}: pickup lines {wrong_store} allocated away from the chosen store")
    return Check(f"no forbidden split (no-split rules whole, never over {MAX_SPLIT} facilities)", not problems,
                 f"{len(problems)} problems, e.g. {problems[:3]}" if problems else "")


def _check_processing_order(*, world: BenchWorld, snapshot: Snapshot, decided) -> Check:
    orders = _orders_plain(world.order_ids)
    expected = sorted(orders, key=lambda oid: order_sort_key(orders[oid], rules=snapshot.rules, queue=QUEUE))
    actual = [order_id for order_id, _ in decided]
    if actual == expected:
        return Check("orders processed in the rules' order", True)
    at = next(i for i in range(max(len(actual), len(expected))) if actual[i:i + 1] != expected[i:i + 1])
    detail = (f"position {at}: the run took order {actual[at:at + 1]}, "
              f"docs/routing.md says {expected[at:at + 1]}")
    return Check("orders processed in the rules' order", False, detail)


def _stored_per_line(found: list[_Part]) -> dict[int, list[tuple[str, object, int]]]:
    per_line: dict[int, list] = defaultdict(list)
    for part in found:
        if part.status == OrderLine.Status.ALLOCATED:
            per_line[part.root_id].append(("facility", part.facility_id, part.quantity))
        else:
            per_line[part.root_id].append(("queue", part.queue, part.quantity))
    return {line_id: sorted(entries, key=str) for line_id, entries in per_line.items()}


def _check_reference(*, snapshot: Snapshot, parts: dict[int, list[_Part]], decided) -> Check:
    """Replay the run in its own order; decide each sampled order with the reference just before its turn.

    Every order's stored allocations are applied to the replayed stock and jobs (sampled ones after the
    comparison), so each sampled order meets the world exactly as the run saw it.
    """
    stock = dict(snapshot.stock)
    facilities = {fid: dict(facility) for fid, facility in snapshot.facilities.items()}
    codes = {fid: facility["code"] for fid, facility in facilities.items()}
    mismatches, compared, kinds = [], 0, Counter()
    for order_id, _ in decided:
        found = parts[order_id]
        order = snapshot.orders.get(order_id)
        if order is not None:
            compared += 1
            reference = reference_decide(order=order, rules=snapshot.rules, facilities=facilities, stock=stock,
                                         queue=QUEUE)
            expected = reference.per_line()
            lines = {line["id"]: line for line in order["lines"]}
            for line_id in reference.unmatched:
                expected[line_id] = [("queue", QUEUE, lines[line_id]["quantity"])]
            stored = _stored_per_line(found)
            kinds[_kind_of(found)] += 1
            if stored != expected:
                mismatches.append(f"{order['name']}: run {_readable(stored, codes)} "
                                  f"vs reference {_readable(expected, codes)}")
        requested = set()
        for part in found:
            if part.status == OrderLine.Status.ALLOCATED:
                key = (part.facility_id, part.product_id)
                if key in stock:
                    stock[key] = max(0, stock[key] - part.quantity)
                requested.add(part.facility_id)
        for facility_id in requested:  # one new request per (order, facility)
            facilities[facility_id]["jobs_today"] += 1
            facilities[facility_id]["open_jobs"] += 1
    ok = not mismatches and compared == len(snapshot.orders)
    detail = f"{compared} sampled orders compared (" + ", ".join(f"{n} {kind}" for kind, n in kinds.most_common()) + ")"
    if compared != len(snapshot.orders):
        detail += f" of {len(snapshot.orders)} sampled (the rest have no decision)"
    if mismatches:
        detail += f", {len(mismatches)} differ:\n    " + "\n    ".join(mismatches[:10])
    return Check("sampled orders decided as the reference decides them", ok, detail)


def _kind_of(found: list[_Part]) -> str:
    """What the run did with an order, in words, to show what the sample covered."""
    if any(part.pickup_facility_id is not None for part in found):
        return "pickup"
    if any(part.status != OrderLine.Status.ALLOCATED for part in found):
        return "unfillable in part" if any(p.status == OrderLine.Status.ALLOCATED for p in found) else "unfillable"
    return "split" if len({part.facility_id for part in found}) > 1 else "whole"


def _readable(per_line: dict[int, list], codes: dict[int, str]) -> str:
    return "; ".join(
        f"line {line_id}: " + ", ".join(
            f"{quantity}@{codes.get(target, target) if kind == 'facility' else target}"
            for kind, target, quantity in entries
        )
        for line_id, entries in sorted(per_line.items())
    )
