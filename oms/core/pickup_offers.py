"""Offers to customers whose pickup store cannot serve some items: the stores that can, the offer, its email and link.

Lines reach BOPIS_REJECTED from a short pick or rejection (oms.core.lines) and from routing (oms.routing.apply);
both call `pickup_alternatives_offer` in the transaction that moved them. Applying the customer's choice is
oms.pickup.alternatives (it routes again, so it sits above oms.routing; this module sits below it).
"""

import secrets
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core import signing
from django.db import connection
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from oms.core.geo import customer_coordinates, haversine_km
from oms.models import Order, OrderLine, OrderNote, OutboxMessage, PickupAlternativeOffer
from oms.outbox.messages import outbox_dispatch_on_commit
from stores.models import Facility, StockLevel

Queue = OrderLine.Queue
EMAIL_KIND = "pickup-alternatives"
TOKEN_SALT = "pickup-alternatives"
STORES_OFFERED = 3


@dataclass(frozen=True)
class StoreOption:
    """A store that can take the items now, and how far it is from the customer (None: not known)."""

    facility: Facility
    distance_km: float | None


def email_key(offer_id: int) -> str:
    return f"{EMAIL_KIND}:{offer_id}"


def pickup_offer_token(offer: PickupAlternativeOffer) -> str:
    """The signed token of the customer's link: names the offer and its nonce (a guessed id is not enough).

    The same token for every rendering (no timestamp: the offer's own `expires_at` decides), so an email's
    HTML and text parts, and a resent email, carry the same links.
    """
    return signing.Signer(salt=TOKEN_SALT).sign(f"{offer.pk}.{offer.nonce}")


def pickup_offer_url(offer: PickupAlternativeOffer, **query) -> str:
    """The absolute link of the offer's page (PUBLIC_BASE_URL), optionally preselecting a choice."""
    path = reverse("pickup-alternatives", kwargs={"token": pickup_offer_token(offer)})
    if query:
        path += "?" + "&".join(f"{name}={value}" for name, value in query.items())
    return settings.PUBLIC_BASE_URL.rstrip("/") + path


def pickup_alternatives_offer(
    *, order_ids: list[int], now: datetime, kick_dispatcher: bool = True,
) -> list[PickupAlternativeOffer]:
    """Offer alternatives for the orders' QUEUED BOPIS_REJECTED lines that no open offer covers yet; email them.

    Runs in the caller's transaction (the one that moved the lines), set-wise: a handful of queries for
    any number of orders. Locks the orders, then their BOPIS_REJECTED lines, in primary-key order. Per
    order with uncovered lines: an open offer (unused, unexpired) whose email has not gone out yet takes
    them in (the customer gets one email for a rejection of several items); otherwise a new offer is made
    for them, with a "pickup-alternatives" email (key `pickup-alternatives:<offer id>`) when the order has
    an address to write to. The stores offered: up to three other active pickup stores that sell online,
    are excluded for none of the lines, and have every unit available now, nearest first.
    `kick_dispatcher=False` leaves delivery to the periodic sweep (a brokering run must not add commit hooks).
    Returns the offers created or extended.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("pickup_alternatives_offer runs in the transaction that moved the lines")
    ids = sorted(set(order_ids))
    if not ids:
        return []
    orders = {order.pk: order for order in
              Order.objects.filter(pk__in=ids).order_by("pk").select_for_update(of=("self",))}
    waiting: dict[int, list[OrderLine]] = defaultdict(list)
    for line in (OrderLine.objects.filter(order_id__in=ids, status=OrderLine.Status.QUEUED,
                                          queue=Queue.BOPIS_REJECTED)
                 .order_by("pk").select_for_update(of=("self",))):
        waiting[line.order_id].append(line)
    if not waiting:
        return []
    open_offers = list(PickupAlternativeOffer.objects.filter(order_id__in=waiting, used_at=None, expires_at__gt=now)
                       .order_by("pk"))
    unsent = _offers_not_emailed_yet(open_offers)
    covered = {line_id for offer in open_offers for line_id in offer.line_ids}

    extended, created = [], []
    for order_id, lines in waiting.items():
        uncovered = [line for line in lines if line.pk not in covered]
        if not uncovered:
            continue
        offer = next((offer for offer in reversed(open_offers) if offer.order_id == order_id and offer.pk in unsent),
                     None)
        if offer is not None:
            offer.line_ids = sorted(offer.line_ids + [line.pk for line in uncovered])
            extended.append(offer)
        else:
            created.append(PickupAlternativeOffer(
                order=orders[order_id], line_ids=[line.pk for line in uncovered], nonce=secrets.token_hex(16),
                created_at=now, expires_at=now + timedelta(days=settings.PICKUP_OFFER_DAYS),
            ))
    if not extended and not created:
        return []
    lines_by_id = {line.pk: line for lines in waiting.values() for line in lines}
    options = stores_able(
        groups={index: [lines_by_id[line_id] for line_id in offer.line_ids if line_id in lines_by_id]
                for index, offer in enumerate(extended + created)},
        orders=orders,
    )
    for index, offer in enumerate(extended + created):
        offer.stores = [{"facility_id": option.facility.pk, "code": option.facility.code,
                         "name": option.facility.name, "distance_km": option.distance_km}
                        for option in options[index]]
        offer.can_ship = can_ship(orders[offer.order_id])
    if extended:
        PickupAlternativeOffer.objects.bulk_update(extended, ["line_ids", "stores", "can_ship"])
    PickupAlternativeOffer.objects.bulk_create(created)

    emailed = [offer for offer in created if orders[offer.order_id].email]
    # New offers, so new keys: nothing to skip, and one insert for a whole brokering batch.
    OutboxMessage.objects.bulk_create([
        OutboxMessage(kind=EMAIL_KIND, destination=OutboxMessage.Destination.EMAIL, order_id=offer.order_id,
                      idempotency_key=email_key(offer.pk), payload={"offer": offer.pk}, due_at=now, created_at=now)
        for offer in emailed
    ])
    if emailed and kick_dispatcher and OutboxMessage.Destination.EMAIL in settings.OUTBOX_ADAPTERS:
        outbox_dispatch_on_commit()
    OrderNote.objects.bulk_create([
        OrderNote(order_id=offer.order_id, at=now, text=_offer_note(offer, lines_by_id, emailed=offer in emailed,
                                                                     new=offer in created))
        for offer in extended + created
    ])
    return extended + created


def _offers_not_emailed_yet(offers: list[PickupAlternativeOffer]) -> set[int]:
    """The offers whose email is still waiting, untried, and not being sent right now (row lock skipped)."""
    if not offers:
        return set()
    keys = {email_key(offer.pk): offer.pk for offer in offers}
    pending = set(
        OutboxMessage.objects.filter(idempotency_key__in=keys, status=OutboxMessage.Status.PENDING, attempts=0)
        .order_by("pk").select_for_update(skip_locked=True).values_list("idempotency_key", flat=True)
    )
    # Held until our commit: the dispatcher skips it meanwhile and then builds the email from the extended offer.
    return {offer_id for key, offer_id in keys.items() if key in pending}


def _offer_note(offer: PickupAlternativeOffer, lines_by_id: dict[int, OrderLine], *, emailed: bool, new: bool) -> str:
    items = ", ".join(f"{line.quantity} × {line.sku}" for line_id in offer.line_ids
                      if (line := lines_by_id.get(line_id)) is not None)
    stores = ", ".join(store["code"] for store in offer.stores) or "no store has them"
    ship = "delivery" if offer.can_ship else "no delivery (no address)"
    if not new:
        return f"Pickup alternatives offer {offer.pk} now also covers {items} (its email has not gone out yet)."
    sent = "emailed to the customer" if emailed else "NOT emailed: the order has no email address"
    return f"Pickup alternatives offered for {items} ({sent}): stores {stores}; {ship}; or cancel."


def can_ship(order: Order) -> bool:
    address = order.shipping_address or {}
    return bool(str(address.get("country_code") or address.get("country") or "").strip())


def stores_able(
    *, groups: dict, orders: dict[int, Order], limit: int | None = STORES_OFFERED, only: int | None = None,
) -> dict:
    """Per group of BOPIS_REJECTED lines (one order's), the stores that could take all of them now, nearest first.

    A store qualifies when it is an active STORE that sells online and offers pickup, is not a pickup store
    of the lines nor excluded for any of them, and has available (on hand − reserved − safety stock) every
    unit of them (lines of one product add up), and is within the pickup store's `pickup_alternatives_km` (default
    50) of the customer's address (coordinates, or the US postal code's centre), else of the lines' pickup store;
    a store whose distance cannot be told is not offered.
    `only`: consider that facility alone. Three queries, whatever the number of groups.
    """
    line_ids = {line.pk for lines in groups.values() for line in lines}
    excluded: dict[int, set[int]] = defaultdict(set)
    for line_id, facility_id in OrderLine.excluded_facilities.through.objects.filter(
            orderline_id__in=line_ids).values_list("orderline_id", "facility_id"):
        excluded[line_id].add(facility_id)
    needs = {key: _units(lines) for key, lines in groups.items()}
    products = {product_id for need in needs.values() for product_id in need}
    levels = StockLevel.objects.filter(
        product_id__in=products, facility__kind=Facility.Kind.STORE, facility__is_active=True,
        facility__sells_online=True, facility__offers_pickup=True,
    ).annotate(free=F("on_hand") - F("reserved") - F("safety_stock")).filter(free__gt=0)
    if only is not None:
        levels = levels.filter(facility_id=only)
    available: dict[int, dict[int, int]] = defaultdict(dict)
    for facility_id, product_id, free in levels.values_list("facility_id", "product_id", "free"):
        available[facility_id][product_id] = free
    facilities = Facility.objects.in_bulk(list(available))
    pickup_ids = {line.pickup_facility_id for lines in groups.values() for line in lines} - {None}
    pickup_stores = Facility.objects.in_bulk(list(pickup_ids - set(facilities)))
    pickup_stores.update({pk: facilities[pk] for pk in pickup_ids if pk in facilities})

    result = {}
    for key, lines in groups.items():
        need = needs[key]
        if not lines or None in need:
            result[key] = []
            continue
        out = set().union(*(excluded[line.pk] for line in lines)) | {line.pickup_facility_id for line in lines}
        origin = _origin(orders[lines[0].order_id], [pickup_stores.get(line.pickup_facility_id) for line in lines])
        within_km = _within_km([pickup_stores.get(line.pickup_facility_id) for line in lines])
        options = [
            StoreOption(facility=facility, distance_km=_distance(origin, facility))
            for facility_id, facility in facilities.items()
            if facility_id not in out
            and all(available[facility_id].get(product_id, 0) >= units for product_id, units in need.items())
        ]
        # Only stores known to be within the chosen store's distance (a store a continent away is no alternative).
        options = [option for option in options
                   if option.distance_km is not None and option.distance_km <= within_km]
        options.sort(key=lambda o: (o.distance_km is None, o.distance_km or 0.0, o.facility.code, o.facility.pk))
        result[key] = options[:limit] if limit else options
    return result


def _within_km(pickup_stores: list[Facility | None]) -> float:
    """How far alternatives may be: the chosen pickup store's setting (the smallest, should lines name several)."""
    limits = [store.pickup_alternatives_km for store in pickup_stores if store is not None]
    return min(limits) if limits else Facility._meta.get_field("pickup_alternatives_km").default


def _units(lines: list[OrderLine]) -> dict[int | None, int]:
    units: dict[int | None, int] = defaultdict(int)
    for line in lines:
        units[line.product_id] += line.quantity
    return dict(units)


def _origin(order: Order, pickup_stores: list[Facility | None]) -> tuple[float, float] | None:
    latitude, longitude, _ = customer_coordinates(order.shipping_address or {})
    if latitude is not None:
        return latitude, longitude
    for store in pickup_stores:  # the store the customer chose is near them too
        if store is not None and store.latitude is not None and store.longitude is not None:
            return store.latitude, store.longitude
    return None


def _distance(origin: tuple[float, float] | None, facility: Facility) -> float | None:
    if origin is None or facility.latitude is None or facility.longitude is None:
        return None
    return round(haversine_km(origin[0], origin[1], facility.latitude, facility.longitude), 1)


@dataclass
class OfferStore:
    """One store of an offer as the email and the page show it."""

    facility: Facility
    distance_km: float | None
    url: str


@dataclass
class OfferDetails:
    """What the email and the customer's page show of an offer."""

    offer: PickupAlternativeOffer
    order: Order
    lines: list[OrderLine]  # the offer's lines still waiting in BOPIS_REJECTED (all of them when `all_lines`)
    original_store: Facility | None
    stores: list[OfferStore]
    can_ship: bool
    page_url: str
    ship_url: str
    cancel_url: str

    @property
    def expires_text(self) -> str:
        """When the offer expires, in the pickup store's time zone (templates would show the server's)."""
        at = self.offer.expires_at
        if self.original_store is not None:
            at = timezone.localtime(at, self.original_store.tz)
        return f"{at:%B} {at.day}, {at.year}, {at:%H:%M %Z}".strip()

    @property
    def address_lines(self) -> list[str]:
        address = self.order.shipping_address or {}
        city = " ".join(str(address.get(key) or "") for key in ("zip", "city")).strip()
        parts = [address.get("name"), address.get("address1"), address.get("address2"), city,
                 address.get("province_code") or address.get("province"), address.get("country_code")]
        return [str(part).strip() for part in parts if part and str(part).strip()]


def pickup_offer_details(*, offer: PickupAlternativeOffer, all_lines: bool = False) -> OfferDetails:
    """The offer with its order, its lines (those still waiting, or all), the stores it names and the links."""
    every = list(OrderLine.objects.filter(pk__in=offer.line_ids).select_related("product", "pickup_facility")
                 .order_by("pk"))
    lines = every if all_lines else [
        line for line in every if line.status == OrderLine.Status.QUEUED and line.queue == Queue.BOPIS_REJECTED
    ]
    # The store the customer had chosen (until a choice is applied, the lines still name it).
    original = next((line.pickup_facility for line in every if line.pickup_facility is not None), None)
    facilities = Facility.objects.in_bulk([store["facility_id"] for store in offer.stores])
    stores = [
        OfferStore(facility=facilities[store["facility_id"]], distance_km=store.get("distance_km"),
                   url=pickup_offer_url(offer, choice="STORE", store=store["facility_id"]))
        for store in offer.stores if store["facility_id"] in facilities
    ]
    return OfferDetails(
        offer=offer, order=offer.order, lines=lines, original_store=original, stores=stores,
        can_ship=offer.can_ship, page_url=pickup_offer_url(offer), ship_url=pickup_offer_url(offer, choice="SHIP"),
        cancel_url=pickup_offer_url(offer, choice="CANCEL"),
    )
