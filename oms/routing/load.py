"""Reading what routing decides on: the rules, the world (facilities and stock) and the queued demand."""

import zoneinfo
from collections import defaultdict
from datetime import datetime, time

from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F, Q

from fulfillment.models import PickJob
from oms.core.geo import customer_coordinates
from oms.db import pg_array
from oms.models import Order, OrderLine, RoutingRule
from oms.routing.types import FacilityInfo, LineDemand, OrderDemand, World
from stores.models import Facility, StockLevel

OPEN_JOB_STATUSES = (PickJob.Status.OPEN, PickJob.Status.IN_PROGRESS)


def default_rules() -> list[RoutingRule]:
    """docs/routing.md's default rules, unsaved."""
    return [
        RoutingRule(name="Pickup at the chosen store", position=10, delivery=RoutingRule.Delivery.PICKUP,
                    max_facilities=1, unfilled_action=RoutingRule.Unfilled.PARK),
        RoutingRule(name="Ship whole from one place", position=20, delivery=RoutingRule.Delivery.SHIP,
                    max_facilities=1, unfilled_action=RoutingRule.Unfilled.NEXT_RULE),
        RoutingRule(name="Ship split across up to 3", position=30, delivery=RoutingRule.Delivery.SHIP,
                    max_facilities=3, unfilled_action=RoutingRule.Unfilled.PARK),
    ]


def rules_ensure_defaults() -> list[RoutingRule]:
    """The active rules in position order, creating the defaults first when there are no rules at all."""
    if not RoutingRule.objects.exists():
        try:
            with transaction.atomic():
                RoutingRule.objects.bulk_create(default_rules())
        except IntegrityError:
            pass  # another run created them at the same moment
    return list(RoutingRule.objects.filter(is_active=True).order_by("position"))


def world_load(*, now: datetime, product_ids: set[int] | None = None) -> World:
    """Every facility and the available stock (of `product_ids`, or of every product) as of now.

    Stock is read in one query: only rows with units available, each with its primary key for the
    reservation. Each facility's jobs today are counted from midnight in its own time zone.
    """
    facilities = {
        row["pk"]: row
        for row in Facility.objects.values(
            "pk", "code", "name", "kind", "country", "latitude", "longitude", "is_active", "sells_online",
            "offers_ship_from_store", "offers_pickup", "priority", "daily_capacity", "fulfilled_by_wms",
            "processing_mode", "time_zone",
        )
    }
    jobs_today, open_jobs = _pick_job_counts(facilities=facilities, now=now)
    world = World(
        facilities={
            pk: FacilityInfo(
                id=pk, code=row["code"], name=row["name"], kind=row["kind"], country=row["country"],
                latitude=row["latitude"], longitude=row["longitude"],
                active_online=row["is_active"] and row["sells_online"],
                ships=row["offers_ship_from_store"] or row["kind"] == Facility.Kind.WAREHOUSE,
                pickup=row["offers_pickup"], priority=row["priority"], daily_capacity=row["daily_capacity"],
                jobs_today=jobs_today.get(pk, 0), open_jobs=open_jobs.get(pk, 0),
                fulfilled_by_wms=row["fulfilled_by_wms"], processing_mode=row["processing_mode"],
            )
            for pk, row in facilities.items()
        },
        stock={},
    )
    world_stock_refresh(world=world, product_ids=product_ids)
    return world


def world_stock_refresh(*, world: World, product_ids: set[int] | None) -> None:
    """Replace the world's stock of these products (every product when None) with what is available now."""
    if product_ids is None:
        world.stock.clear()
        world.stock_level_ids.clear()
    elif not product_ids:
        return
    else:
        for product_id in product_ids:
            world.stock[product_id] = {}
            world.stock_level_ids[product_id] = {}
    stock, level_ids = world.stock, world.stock_level_ids
    for pk, facility_id, product_id, available in _available_rows(product_ids):
        if product_id not in stock:
            stock[product_id], level_ids[product_id] = {}, {}
        stock[product_id][facility_id] = available
        level_ids[product_id][facility_id] = pk


def _available_rows(product_ids: set[int] | None) -> list[tuple[int, int, int, int]]:
    """(stock level id, facility id, product id, available units) of every row with units available."""
    if connection.vendor == "postgresql":
        # Hundreds of thousands of rows in a big run: a plain cursor reads them twice as fast as the ORM.
        sql = ("SELECT id, facility_id, product_id, on_hand - reserved - safety_stock FROM stores_stocklevel "
               "WHERE on_hand - reserved - safety_stock > 0")
        params = []
        if product_ids is not None:
            sql += " AND product_id = ANY(%s::bigint[])"
            params.append(pg_array(sorted(product_ids)))
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()  # one call: iterating the cursor row by row costs more than the query
    levels = StockLevel.objects.annotate(available=F("on_hand") - F("reserved") - F("safety_stock")).filter(
        available__gt=0
    )
    if product_ids is not None:
        levels = levels.filter(product_id__in=product_ids)
    return list(levels.values_list("pk", "facility_id", "product_id", "available"))


def _pick_job_counts(*, facilities: dict[int, dict], now: datetime) -> tuple[dict[int, int], dict[int, int]]:
    """Pick jobs created today (local midnight → now, per facility's time zone) and open pick jobs, per facility."""
    zones: dict[str, list[int]] = defaultdict(list)
    for pk, row in facilities.items():
        zones[row["time_zone"]].append(pk)
    if not zones:
        return {}, {}
    today = Q()
    for zone, ids in zones.items():
        tz = zoneinfo.ZoneInfo(zone)
        midnight = datetime.combine(now.astimezone(tz).date(), time.min, tzinfo=tz)
        today |= Q(facility_id__in=ids, created_at__gte=midnight, created_at__lte=now)
    rows = (
        PickJob.objects.filter(today | Q(status__in=OPEN_JOB_STATUSES))
        .values("facility_id")
        .annotate(today=Count("pk", filter=today), open=Count("pk", filter=Q(status__in=OPEN_JOB_STATUSES)))
    )
    return ({row["facility_id"]: row["today"] for row in rows}, {row["facility_id"]: row["open"] for row in rows})


def demands_load(*, queue: str, order_ids: list[int] | None = None) -> list[OrderDemand]:
    """The QUEUED lines of `queue` that have a product, grouped per order (in order id order).

    Three queries whatever the number of orders: lines, their orders, and their excluded facilities.
    """
    lines = OrderLine.objects.filter(status=OrderLine.Status.QUEUED, queue=queue, product__isnull=False)
    if order_ids is not None:
        lines = lines.filter(order_id__in=order_ids)
    rows = list(
        lines.order_by("order_id", "pk").values_list(
            "pk", "order_id", "product_id", "quantity", "kind", "pickup_facility_id", "promise_date"
        )
    )
    if not rows:
        return []
    excluded: dict[int, set[int]] = defaultdict(set)
    for line_id, facility_id in OrderLine.excluded_facilities.through.objects.filter(
        orderline_id__in=lines.values("pk")
    ).values_list("orderline_id", "facility_id"):
        excluded[line_id].add(facility_id)
    orders = {
        pk: (name, channel, priority, ordered_at, address or {})
        for pk, name, channel, priority, ordered_at, address in Order.objects.filter(
            pk__in=lines.values("order_id")
        ).values_list("pk", "name", "channel", "priority", "ordered_at", "shipping_address")
    }
    demands: list[OrderDemand] = []
    for line_id, order_id, product_id, quantity, kind, pickup_facility_id, promise_date in rows:
        if not demands or demands[-1].order_id != order_id:
            name, channel, priority, ordered_at, address = orders[order_id]
            latitude, longitude, note = customer_coordinates(address)
            demands.append(OrderDemand(
                order_id=order_id, name=name, channel=channel, priority=priority, ordered_at=ordered_at,
                country=str(address.get("country_code") or ""), latitude=latitude, longitude=longitude,
                lines=[], geocode_note=note,
            ))
        demands[-1].lines.append(LineDemand(
            line_id=line_id, product_id=product_id, quantity=quantity, kind=kind,
            pickup_facility_id=pickup_facility_id, excluded=frozenset(excluded.get(line_id, ())),
            promise_date=promise_date,
        ))
    return demands
