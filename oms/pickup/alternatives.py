"""Pickup alternatives: the customer's link, and applying their choice (another store, delivery, cancel).

The offers themselves (which stores, the email) are made by oms.core.pickup_offers when lines enter
BOPIS_REJECTED; `pickup_alternatives_offer` is re-exported here. The customer's page
(oms.pickup.views) and, later, the operations console call these services.
"""

from dataclasses import dataclass
from datetime import datetime

from django.core import signing
from django.db import transaction
from django.utils import timezone

from oms.core.history import record, transit
from oms.core.pickup_offers import (
    TOKEN_SALT,
    StoreOption,
    can_ship,
    pickup_alternatives_offer,
    pickup_offer_details,
    stores_able,
)
from oms.core.settle import order_settle
from oms.core.shop_messages import shop_lines_canceled
from oms.models import Order, OrderLine, OrderNote, PickupAlternativeOffer
from oms.routing.runs import order_route
from stores.models import Facility

__all__ = [
    "PickupChoiceError", "PickupOfferError", "PickupOfferExpired", "PickupOfferInvalid", "PickupOfferUsed",
    "pickup_alternative_apply", "pickup_alternatives_for_operations", "pickup_alternatives_offer",
    "pickup_offer_details", "pickup_offer_from_token",
]

Queue = OrderLine.Queue
Choice = PickupAlternativeOffer.Choice


class PickupOfferError(Exception):
    """An offer that cannot be used as asked; `status` is the HTTP status the customer's page answers with."""

    status = 400

    def __init__(self, message: str, *, offer: PickupAlternativeOffer | None = None):
        super().__init__(message)
        self.message = message
        self.offer = offer


class PickupOfferInvalid(PickupOfferError):
    """The token was tampered with, or names no offer (or another offer's nonce)."""


class PickupOfferUsed(PickupOfferError):
    status = 410


class PickupOfferExpired(PickupOfferError):
    status = 410


class PickupChoiceError(PickupOfferError):
    """The choice cannot be applied now (the store no longer has the items, nothing left…): choose again."""

    status = 409


def pickup_offer_from_token(token: str, *, now: datetime | None = None) -> PickupAlternativeOffer:
    """The open offer a customer's link names; raises PickupOfferInvalid / PickupOfferUsed / PickupOfferExpired."""
    now = now or timezone.now()
    try:
        offer_id, nonce = signing.Signer(salt=TOKEN_SALT).unsign(token).split(".", 1)
        offer_id = int(offer_id)
    except (signing.BadSignature, ValueError) as exc:
        raise PickupOfferInvalid("This link is not valid. Please use the link in your email exactly as it is.") from exc
    offer = PickupAlternativeOffer.objects.select_related("order", "chosen_facility").filter(
        pk=offer_id, nonce=nonce).first()
    if offer is None:
        raise PickupOfferInvalid("This link is not valid. Please use the link in your email exactly as it is.")
    _check_open(offer, now=now, operator=False)
    return offer


def _check_open(offer: PickupAlternativeOffer, *, now: datetime, operator: bool) -> None:
    if offer.used_at is not None:
        used = offer.used_at
        raise PickupOfferUsed(
            f"This link was already used on {used:%B} {used.day}, {used.year}: {_chosen_text(offer)}.", offer=offer)
    # Operations staff may still apply an expired offer for the customer (on the phone, say): the lines wait.
    if not operator and offer.expires_at <= now:
        raise PickupOfferExpired("This link has expired. Please contact us and we will help you choose.", offer=offer)


def _chosen_text(offer: PickupAlternativeOffer) -> str:
    if offer.choice == Choice.STORE:
        name = offer.chosen_facility.name if offer.chosen_facility else "another store"
        return f"the items are to be picked up at {name}"
    if offer.choice == Choice.SHIP:
        return "the items are to be delivered to your address"
    return "the items were canceled"


@dataclass
class PickupChoiceResult:
    offer: PickupAlternativeOffer
    order: Order
    choice: str
    facility: Facility | None
    lines: list[OrderLine]  # the lines the choice applied to, as they are now
    message: str  # for the customer


def pickup_alternative_apply(
    *, offer_id: int, choice: str, facility_id: int | None = None, actor=None, now: datetime | None = None,
) -> PickupChoiceResult:
    """Apply the customer's choice to the offer's lines still waiting in BOPIS_REJECTED, and use up the offer.

    STORE: the lines are picked up at `facility_id` instead (one of the offer's stores; operations staff,
    `actor` given, may name any store that qualifies now) and are routed at once; refused, with nothing
    changed, when that store no longer has every unit. SHIP: the lines stop being pickup lines and are
    routed for delivery. CANCEL: the lines are canceled, the shop told ("lines-canceled"), the order settled.
    The offer records the choice, when and by whom (`actor` None = the customer); a used offer is refused,
    an expired one too unless operations staff apply it. One transaction: the order, then its lines
    (primary-key order), then the offer are locked.
    """
    now = now or timezone.now()
    if choice not in Choice.values:
        raise PickupChoiceError("Choose one of the options.")
    with transaction.atomic():
        order_id = PickupAlternativeOffer.objects.filter(pk=offer_id).values_list("order_id", flat=True).first()
        if order_id is None:
            raise PickupOfferInvalid("There is no such offer.")
        order = Order.objects.select_for_update().get(pk=order_id)
        lines = list(OrderLine.objects.filter(order=order).select_related("product").order_by("pk")
                     .select_for_update(of=("self",)))
        offer = PickupAlternativeOffer.objects.select_for_update().get(pk=offer_id)
        _check_open(offer, now=now, operator=actor is not None)
        waiting = [line for line in lines if line.pk in set(offer.line_ids)
                   and line.status == OrderLine.Status.QUEUED and line.queue == Queue.BOPIS_REJECTED]
        if not waiting:
            raise PickupChoiceError("Nothing is left to choose for: these items were already taken care of.",
                                    offer=offer)
        who = "The customer" if actor is None else f"{actor} (for the customer)"
        items = _items_text(waiting)
        facility = None
        if choice == Choice.STORE:
            facility = _store_check(offer=offer, order=order, lines=waiting, facility_id=facility_id,
                                    operator=actor is not None)
            for line in waiting:
                line.pickup_facility, line.pickup_store_code = facility, facility.code
            note = f"{who} chose to pick up {items} at {facility.name} ({facility.code}) instead."
        elif choice == Choice.SHIP:
            if not can_ship(order):
                raise PickupChoiceError("We have no delivery address for this order: please choose another option.",
                                        offer=offer)
            for line in waiting:
                line.pickup_facility, line.pickup_store_code = None, ""
            note = f"{who} chose delivery to the shipping address for {items}."
        else:
            note = f"{who} chose to cancel {items}."
        offer.choice, offer.used_at, offer.used_by, offer.chosen_facility = choice, now, actor, facility
        offer.save(update_fields=["choice", "used_at", "used_by", "chosen_facility"])
        OrderNote.objects.create(order=order, actor=actor, at=now,
                                 text=f"{note} (pickup alternatives offer {offer.pk})")
        if choice == Choice.CANCEL:
            _lines_cancel(order=order, lines=lines, waiting=waiting, actor=actor, now=now)
        else:
            for line in waiting:
                line.queue, line.queued_at = Queue.BROKERING, now
            OrderLine.objects.bulk_update(waiting, ["pickup_facility", "pickup_store_code", "queue", "queued_at"])
            reason = ("pickup at another store" if choice == Choice.STORE else "delivery instead of pickup") + \
                " chosen " + ("by the customer" if actor is None else "for the customer")
            order_route(order_id=order.pk, now=now, actor=actor, reason=reason)
        current = list(OrderLine.objects.filter(pk__in=[line.pk for line in waiting]).order_by("pk"))
    return PickupChoiceResult(offer=offer, order=order, choice=choice, facility=facility, lines=current,
                              message=_result_message(choice=choice, facility=facility, lines=current))


def _store_check(*, offer: PickupAlternativeOffer, order: Order, lines: list[OrderLine], facility_id: int | None,
                 operator: bool) -> Facility:
    if facility_id is None:
        raise PickupChoiceError("Choose a store.", offer=offer)
    if not operator and facility_id not in {store["facility_id"] for store in offer.stores}:
        raise PickupChoiceError("That store is not one of the choices offered: please choose again.", offer=offer)
    able = stores_able(groups={0: lines}, orders={order.pk: order}, limit=None, only=facility_id)[0]
    if able:
        return able[0].facility
    facility = Facility.objects.filter(pk=facility_id).first()
    if facility is None:
        raise PickupChoiceError("That store does not exist: please choose again.", offer=offer)
    raise PickupChoiceError(f"{facility.name} no longer has {_items_text(lines)}: please choose again.", offer=offer)


def _lines_cancel(*, order: Order, lines: list[OrderLine], waiting: list[OrderLine], actor, now: datetime) -> None:
    """Cancel the waiting (QUEUED) lines, tell the shop, settle the order. `lines`: all the order's lines, locked."""
    reason = "canceled by the customer: the pickup store could not serve them"
    entries = []
    for line in waiting:
        entries.append(transit(line, "cancel", actor=actor, reason=reason, at=now))
        line.cancel_reason = reason[:64]
        line.queue = ""  # a canceled line waits in no queue
    OrderLine.objects.bulk_update(waiting, ["status", "cancel_reason", "queue"])
    record(entries)
    shop_lines_canceled(order=order, canceled=[(line, line.quantity) for line in waiting], reason=reason, now=now)
    order_settle(order=order, lines=lines, actor=actor, now=now)


def _items_text(lines: list[OrderLine]) -> str:
    items = [f"{line.quantity} × {line.title or (line.product.name if line.product else line.sku)}" for line in lines]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _result_message(*, choice: str, facility: Facility | None, lines: list[OrderLine]) -> str:
    if choice == Choice.CANCEL:
        return "The items are canceled. You will not be charged for them."
    back = [line for line in lines if line.status == OrderLine.Status.QUEUED and line.queue == Queue.BOPIS_REJECTED]
    if back:  # taken by someone else between the check and the reservation: a new offer was emailed
        return "Sorry, the items were taken just now. We have emailed you new options."
    if choice == Choice.STORE:
        return f"Your items will be ready for pickup at {facility.name}. We will email you when they are ready."
    return "Your items will be delivered to your address. We will email you when they are on their way."


@dataclass
class OperationsAlternatives:
    """For the console: what waits for the customer's choice, the newest unused offer, and what is possible now."""

    order: Order
    lines: list[OrderLine]  # QUEUED in BOPIS_REJECTED
    offer: PickupAlternativeOffer | None  # the newest unused offer (perhaps expired)
    offer_expired: bool
    offers: list[PickupAlternativeOffer]  # every unused offer, newest first
    stores: list[StoreOption]  # stores that could take all the waiting lines now, nearest first
    can_ship: bool


def pickup_alternatives_for_operations(
    *, order_id: int, now: datetime | None = None, stores_limit: int = 10,
) -> OperationsAlternatives:
    """The order's pickup alternatives as operations staff see them (reads only).

    Apply a choice for the customer with `pickup_alternative_apply(offer_id=…, actor=<staff user>)`: an
    expired offer is accepted then, and any store of `stores` may be named.
    """
    now = now or timezone.now()
    order = Order.objects.get(pk=order_id)
    lines = list(OrderLine.objects.filter(order=order, status=OrderLine.Status.QUEUED, queue=Queue.BOPIS_REJECTED)
                 .select_related("product", "pickup_facility").order_by("pk"))
    offers = list(PickupAlternativeOffer.objects.filter(order=order, used_at=None).order_by("-created_at", "-pk"))
    offer = offers[0] if offers else None
    stores = stores_able(groups={0: lines}, orders={order.pk: order}, limit=stores_limit)[0] if lines else []
    return OperationsAlternatives(
        order=order, lines=lines, offer=offer, offer_expired=offer is not None and offer.expires_at <= now,
        offers=offers, stores=stores, can_ship=can_ship(order),
    )
