"""The demo world behind `seed_demo`: US stores and warehouses, a catalog, opening stock, users and shop orders."""

import random
from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Permission
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from oms.demo.orders import order_payloads
from oms.demo.world import (
    DEMO_PASSWORD,
    FACILITIES,
    SEED,
    SOURCE,
    STORES,
    CatalogItem,
    catalog_items,
    login_prefix,
    stock_plan,
)
from oms.models import Product
from oms.shop.importer import shopify_webhook_receive
from oms.shop.payload import TOPIC_CREATE
from stores.access import operations_group
from stores.models import Facility, StockLevel, StoreMembership
from stores.stock import stock_levels_open

# --- Writing it ----------------------------------------------------------------------------------


@dataclass
class Count:
    total: int = 0
    created: int = 0


@dataclass
class SeedSummary:
    facilities: Count = field(default_factory=Count)
    products: Count = field(default_factory=Count)
    stock_levels: Count = field(default_factory=Count)
    users: Count = field(default_factory=Count)
    orders: dict[str, int] = field(default_factory=dict)  # import outcome → how many


# Setup data operations staff maintain in the Django admin (DESIGN: "Django admin is for setup data").
OPERATIONS_PERMISSIONS = (
    ("oms", "product"), ("oms", "routingrule"), ("stores", "facility"), ("stores", "storemembership"),
    ("fulfillment", "boxtype"), ("fulfillment", "shortpickreason"), ("oms", "rejectionreason"),
)


def demo_seed(*, now: datetime | None = None) -> SeedSummary:
    """Create whatever part of the demo world is missing; what exists is left as it is.

    Safe to run again: everything is found by its natural key (facility code, SKU, username, shop
    order id), and opening stock is received only for stock levels created in this run.
    """
    now = now or timezone.now()
    rng = random.Random(SEED)
    items = catalog_items()
    plan, sold_out = stock_plan(rng=rng, items=items)
    summary = SeedSummary()
    with transaction.atomic():
        facilities = _facilities_ensure(summary)
        products = _products_ensure(items, summary)
        _stock_ensure(plan, facilities=facilities, products=products, now=now, summary=summary)
        _users_ensure(summary)
    # Each order goes through the webhook code in its own transaction, exactly as the shop's would.
    for payload in order_payloads(rng=rng, items=items, plan=plan, sold_out=sold_out, now=now):
        result = shopify_webhook_receive(
            # A stable delivery id makes a second run a no-op delivery instead of a new "duplicate" row.
            topic=TOPIC_CREATE, payload=payload, webhook_id=f"seed-demo:{payload['id']}", now=now,
        )
        summary.orders[result.outcome] = summary.orders.get(result.outcome, 0) + 1
    return summary


def _facilities_ensure(summary: SeedSummary) -> dict[str, Facility]:
    existing = {facility.code: facility for facility in Facility.objects.filter(code__in=[s.code for s in FACILITIES])}
    for spec in FACILITIES:
        if spec.code in existing:
            continue
        facility = Facility(
            code=spec.code, name=spec.name, kind=spec.kind, address1=spec.address1, city=spec.city,
            postal_code=spec.postal_code, country="US", latitude=spec.latitude, longitude=spec.longitude,
            time_zone=spec.time_zone, opening_hours=spec.hours, phone=spec.phone,
            email=f"{spec.login_prefix}@stores.storefill.example", offers_pickup=spec.offers_pickup,
            offers_ship_from_store=spec.offers_ship_from_store, daily_capacity=spec.daily_capacity,
            priority=spec.priority, fulfilled_by_wms=spec.fulfilled_by_wms,
        )
        facility.full_clean()
        facility.save()
        existing[spec.code] = facility
        summary.facilities.created += 1
    summary.facilities.total = Facility.objects.count()
    return existing


def _products_ensure(items: list[CatalogItem], summary: SeedSummary) -> dict[str, int]:
    known = set(Product.objects.filter(sku__in=[item.sku for item in items]).values_list("sku", flat=True))
    missing = [
        Product(sku=item.sku, barcode=item.barcode, name=item.name, weight_grams=item.weight_grams)
        for item in items if item.sku not in known
    ]
    Product.objects.bulk_create(missing, batch_size=500)
    summary.products.created = len(missing)
    summary.products.total = Product.objects.count()
    return dict(Product.objects.filter(sku__in=[item.sku for item in items]).values_list("sku", "pk"))


def _stock_ensure(plan, *, facilities: dict[str, Facility], products: dict[str, int], now, summary) -> None:
    """Receive the opening stock of every planned stock level that does not exist yet."""
    summary.stock_levels.created = stock_levels_open(
        levels=[(facilities[row.facility_code].pk, products[row.sku], row.on_hand, row.bin_location) for row in plan],
        source=SOURCE, now=now,
    )
    summary.stock_levels.total = StockLevel.objects.count()


@dataclass(frozen=True)
class DemoLogin:
    role: str
    username: str


def _users_ensure(summary: SeedSummary) -> None:
    User = get_user_model()
    # One hash for every demo user: hashing the same password forty times would be most of the seed's time.
    password = make_password(DEMO_PASSWORD)

    def ensure(username: str, **defaults) -> object:
        user, created = User.objects.get_or_create(
            username=username, defaults={"email": f"{username}@storefill.example", "password": password, **defaults}
        )
        summary.users.created += created
        return user

    ensure("admin", first_name="Demo", last_name="Admin", is_staff=True, is_superuser=True)
    ops = ensure("ops", first_name="Olga", last_name="Operations", is_staff=True)
    group = operations_group()
    ops.groups.add(group)
    setup_models = Q()
    for app_label, model in OPERATIONS_PERMISSIONS:
        setup_models |= Q(content_type__app_label=app_label, content_type__model=model)
    group.permissions.add(*Permission.objects.filter(setup_models))
    staffed = Facility.objects.filter(code__in=[spec.code for spec in FACILITIES if not spec.fulfilled_by_wms])
    for facility in staffed:
        prefix = login_prefix(facility.code)
        for role in (StoreMembership.Role.ASSOCIATE, StoreMembership.Role.MANAGER):
            user = ensure(f"{prefix}-{role.lower()}", first_name=facility.city, last_name=role.label)
            StoreMembership.objects.get_or_create(user=user, facility=facility, defaults={"role": role})
    summary.users.total = User.objects.count()


def demo_logins() -> list[DemoLogin]:
    """The logins worth showing after seeding (every store has the same pair as NYC-01)."""
    example = STORES[0].login_prefix
    return [
        DemoLogin("superuser", "admin"),
        DemoLogin("operations", "ops"),
        DemoLogin("store manager", f"{example}-manager"),
        DemoLogin("store associate", f"{example}-associate"),
    ]
