"""The demo's orders: Shopify order JSON for every kind the shop sends (ship, pickup, mixed, pre- and
backorders, orders with problems), made from a seeded random generator so every seed is the same."""

import random
from datetime import datetime, timedelta
from decimal import Decimal

from oms.demo.world import (
    FIRST_ORDER_ID,
    FIRST_ORDER_NUMBER,
    ORDER_COUNT,
    STORES,
    CatalogItem,
    FacilitySpec,
    StockPlanRow,
)

# --- Orders --------------------------------------------------------------------------------------

FIRST_NAMES = (
    "Olivia", "Liam", "Emma", "Noah", "Ava", "Elijah", "Sophia", "James", "Isabella", "Lucas", "Mia", "Mateo",
    "Amelia", "Benjamin", "Harper", "Henry", "Evelyn", "Theodore", "Camila", "Jack", "Aaliyah", "Daniel", "Priya",
    "Wei", "Sofia", "Diego", "Hannah", "Marcus", "Grace", "Omar", "Chloe", "Jamal", "Nora", "Ethan", "Leah", "Kenji",
)
LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
    "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin", "Lee",
    "Perez", "Thompson", "White", "Harris", "Clark", "Lewis", "Robinson", "Walker", "Young", "Nguyen", "Patel",
    "Kim", "Chen", "Okafor", "Rossi", "Novak", "Sullivan",
)
STREETS = (
    "Maple Ave", "Oak St", "Cedar Ln", "Park Ave", "Elm St", "Washington St", "Lake Dr", "Hillcrest Rd",
    "Pine St", "2nd Ave", "Highland Ave", "Sunset Blvd", "Jefferson St", "Lincoln Ave", "Willow Way", "Chestnut St",
    "Grand Ave", "Madison Ave", "Franklin St", "Riverside Dr",
)
EXTRA_TAGS = ("VIP", "newsletter", "gift", "first-order", "loyalty")
# Discontinued variants the shop still sells by mistake: the problems view shows them as unknown SKUs.
UNKNOWN_SKUS = (
    ("TEE-CREW-LAV-M", "Classic Crew Tee", "Lavender / M", "24.00"),
    ("MUG-12OZ-YLW", "Stoneware Mug 12 oz", "Yellow", "18.00"),
)


def order_kinds(rng: random.Random) -> list[str]:
    """One kind per demo order: mostly ship, then pickup, and a few of every case approval or routing treats apart."""
    special = (
        ["pickup"] * 32 + ["mixed"] * 10 + ["preorder"] * 8 + ["backorder"] * 8 + ["hold"] * 4
        + ["pending-ship"] * 4 + ["pending-pickup"] * 2 + ["unknown-sku"] * len(UNKNOWN_SKUS)
    )
    kinds = special + ["ship"] * (ORDER_COUNT - len(special))
    rng.shuffle(kinds)
    return kinds


def order_payloads(
    *, rng: random.Random, items: list[CatalogItem], plan: list[StockPlanRow], sold_out: set[str], now: datetime
) -> list[dict]:
    """Shopify orders/create bodies for the demo orders, placed over the last three days."""
    sellable = [item for item in items if not item.coming_soon and item.sku not in sold_out]
    coming_soon = [item for item in items if item.coming_soon]
    by_sku = {item.sku: item for item in items}
    carried: dict[str, list[CatalogItem]] = {}
    for row in plan:
        carried.setdefault(row.facility_code, []).append(by_sku[row.sku])
    pickup_stores = [spec for spec in STORES if spec.offers_pickup]

    kinds = order_kinds(rng)
    # Oldest first, so order names count up with the time the order was placed.
    placed = sorted(now - timedelta(minutes=rng.randint(5, 72 * 60)) for _ in kinds)
    unknown_skus = iter(UNKNOWN_SKUS)
    payloads = []
    for index, (kind, created_at) in enumerate(zip(kinds, placed, strict=True)):
        pickup_store = rng.choice(pickup_stores) if kind in ("pickup", "pending-pickup", "mixed") else None
        home = pickup_store or rng.choice(STORES)
        lines = _order_lines(rng=rng, kind=kind, sellable=sellable, pickup_carried=carried.get(home.code, []))
        properties: list[list[dict]] = [[] for _ in lines]
        if kind in ("pickup", "pending-pickup"):
            properties = [[{"name": "_pickupstore", "value": home.code}] for _ in lines]
        elif kind == "mixed":
            properties[0] = [{"name": "_pickupstore", "value": home.code}]
        elif kind == "preorder":
            lines.append((rng.choice(coming_soon), 1))
            release = now.date() + timedelta(days=rng.randint(14, 45))
            properties.append([{"name": "_preorder", "value": release.isoformat()}])
        elif kind == "backorder":
            lines.append((by_sku[rng.choice(sorted(sold_out))], 1))
            # Some shops send the expected date, others only the flag.
            value = (now.date() + timedelta(days=rng.randint(7, 21))).isoformat() if rng.random() < 0.6 else "true"
            properties.append([{"name": "_backorder", "value": value}])
        payloads.append(_order_payload(
            rng=rng, index=index, kind=kind, home=home, created_at=created_at, lines=lines, properties=properties,
            unknown_sku=next(unknown_skus) if kind == "unknown-sku" else None,
        ))
    return payloads


def _order_lines(*, rng: random.Random, kind: str, sellable: list[CatalogItem], pickup_carried: list[CatalogItem]):
    """(item, quantity) for each line; pickup lines come mostly from what the pickup store carries."""
    count = rng.choices((1, 2, 3, 4), weights=(55, 30, 10, 5))[0]
    pickup_count = {"pickup": count, "pending-pickup": count, "mixed": 1}.get(kind, 0)
    # The shop offers pickup where the store shows stock; now and then the store turns out not to have it.
    pool = pickup_carried if pickup_carried and rng.random() < 0.9 else sellable
    chosen = rng.sample(pool, min(pickup_count, len(pool)))
    shipped = [item for item in sellable if item not in chosen]
    chosen += rng.sample(shipped, max(count - len(chosen), 1 if kind == "mixed" else 0))
    return [(item, rng.choices((1, 2, 3), weights=(80, 15, 5))[0]) for item in chosen]


def _order_payload(*, rng, index, kind, home: FacilitySpec, created_at, lines, properties, unknown_sku) -> dict:
    order_id = FIRST_ORDER_ID + index
    first_name, last_name = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    email = f"{first_name}.{last_name}{rng.randint(1, 99)}@example.com".lower()
    address = {
        "first_name": first_name,
        "last_name": last_name,
        "name": f"{first_name} {last_name}",
        "address1": f"{rng.randint(10, 9899)} {rng.choice(STREETS)}",
        "address2": rng.choice((None, None, None, f"Apt {rng.randint(1, 30)}{rng.choice('ABCD')}")),
        "city": home.city,
        "zip": rng.choice(home.customer_zips),
        "province_code": home.province,
        "country": "United States",
        "country_code": "US",
        "latitude": round(home.latitude + rng.uniform(-0.08, 0.08), 5),
        "longitude": round(home.longitude + rng.uniform(-0.08, 0.08), 5),
    }
    line_items = [
        {
            "id": int(f"{order_id}{number:02d}"),
            "sku": item.sku,
            "title": item.title,
            "variant_title": item.variant or None,
            "name": item.name,
            "quantity": quantity,
            "price": f"{item.price:.2f}",
            "grams": item.weight_grams,
            "requires_shipping": True,
            "properties": props,
        }
        for number, ((item, quantity), props) in enumerate(zip(lines, properties, strict=True), start=1)
    ]
    if unknown_sku:
        sku, title, variant, price = unknown_sku
        line_items.append({
            "id": int(f"{order_id}{len(line_items) + 1:02d}"), "sku": sku, "title": title, "variant_title": variant,
            "name": f"{title} - {variant}", "quantity": 1, "price": price, "grams": 200, "requires_shipping": True,
            "properties": [],
        })
    subtotal = sum(Decimal(line["price"]) * line["quantity"] for line in line_items)
    all_pickup = kind in ("pickup", "pending-pickup")
    shipping = Decimal("0.00") if all_pickup or subtotal >= 75 else Decimal("7.95")
    tags = [tag for tag in EXTRA_TAGS if rng.random() < 0.08]
    if kind == "hold":
        tags.insert(0, "HOLD")
    financial_status = "pending" if kind.startswith("pending") else rng.choices(("paid", "authorized"), (85, 15))[0]
    created = created_at.replace(microsecond=0).isoformat()
    payload = {
        "id": order_id,
        "name": f"#{FIRST_ORDER_NUMBER + index}",
        "order_number": FIRST_ORDER_NUMBER + index,
        "email": email,
        "financial_status": financial_status,
        "fulfillment_status": None,
        "created_at": created,
        "updated_at": created,
        "currency": "USD",
        "subtotal_price": f"{subtotal:.2f}",
        "total_price": f"{subtotal + shipping:.2f}",
        "tags": ", ".join(tags),
        "source_name": "web",
        "customer": {"id": 6_000_000_000 + index, "first_name": first_name, "last_name": last_name, "email": email},
        "billing_address": address,
        "line_items": line_items,
        "shipping_lines": [
            {"code": "Store Pickup", "title": f"Pick up at {home.name}", "price": "0.00"} if all_pickup
            else {"code": "Standard", "title": "Standard Shipping", "price": f"{shipping:.2f}"}
        ],
    }
    if not all_pickup:
        payload["shipping_address"] = address
    return payload
