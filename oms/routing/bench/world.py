"""The benchmark's synthetic world, built fast with bulk writes: facilities in real metros, products, stock rows
opened through the ledger, and orders of every delivery kind waiting in BROKERING."""

import random
import zoneinfo
from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

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
from oms.routing.bench.config import (
    LINE_COUNT_WEIGHTS,
    LINE_COUNTS,
    LOCATED_SHARE,
    MAX_ON_HAND,
    MAX_SPLIT,
    METROS,
    ORDER_CHUNK,
    PICKUP_HOLDS_SHARE,
    PICKUP_SHARE,
    QUANTITIES,
    QUANTITY_WEIGHTS,
    QUEUE,
    SAFETY_STOCK_EVERY,
    SOLD_OUT_ORDER_SHARE,
    SOLD_OUT_SHARE,
    SOURCE,
    STOCK_CHUNK,
    STOCKED_SHARE,
    WAREHOUSE_EVERY,
    BenchConfig,
    BenchWorld,
)
from oms.routing.load import rules_ensure_defaults
from stores.models import Facility, InventoryAdjustment, StockLevel
from stores.stock import stock_levels_open

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


# --- The world as plain data, for the reference oracle ------------------------------------------------


def orders_plain(order_ids) -> dict[int, dict]:
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


def facilities_plain(*, now: datetime) -> dict[int, dict]:
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
