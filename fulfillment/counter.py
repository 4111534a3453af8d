"""The pickup counter: finding a customer's ready pickup and handing it over (refusals, proof of pickup).

A customer handover (HandoverJob, channel CUSTOMER) holds no lines of its own: its items are the
order's ALLOCATED pickup lines at the handover's store (`handover_lines`). Handing over follows the
check/do split: `_lock` takes the order, its lines and the handover (the lock order of every
order-level service) and checks store, state and the version the associate saw; `_hand_over` writes.
Refused lines are canceled with their units held for a put-back task (fulfillment.putback); the rest
leave the building through oms.core.lines, after the shop's "fulfillment" message is in the outbox.
"""

import re
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from fulfillment.departure import ErpFulfilled, units_leave
from fulfillment.errors import StoreRefusal
from fulfillment.models import HandoverJob, PickLine, PutBackTask
from fulfillment.putback import put_back_create
from fulfillment.scans import scanned
from oms.core.history import record, transit
from oms.core.lines import LineError, order_lines_cancel_held
from oms.models import Order, OrderLine, TransitionLog
from stores.models import Facility
from stores.stock import StockError

Status = HandoverJob.Status
Relation = ("SELF", "OTHER")
ID_LAST4 = re.compile(r"^[A-Z0-9]{4}$")
# A search for everything shows at most this many pickups (the oldest first); a search narrows it.
SEARCH_LIMIT = 200


class CounterError(StoreRefusal):
    """A counter handover that cannot happen (wrong code, other store, already collected …)."""


def _name(user) -> str:
    if user is None:
        return "someone else"
    return user.get_full_name() or user.get_username()


def normalize_code(text: str) -> str:
    """What a scanner or a person typed, as a pickup code: no spaces, upper case.

    A QR code holding a link (…/pickup/K7QP2M or …?code=K7QP2M) gives its last part.
    """
    text = scanned(text)
    if "/" in text or "=" in text:
        text = re.split(r"[/=?&#]", text.rstrip("/"))[-1]
    return "".join(text.split()).upper()


def looks_like_code(text: str) -> bool:
    return bool(re.fullmatch(r"[A-Z0-9]{4,12}", normalize_code(text)))


# --- selectors -----------------------------------------------------------------------------------

def _lines_where(*, facility_id: int) -> Q:
    """The pickup lines a customer handover at this store gives out: allocated here, for pickup here, and
    not waiting on a pick (a line routed here again after a rejection is not on the shelf yet)."""
    return (Q(status=OrderLine.Status.ALLOCATED, allocated_facility_id=facility_id, pickup_facility_id=facility_id)
            & ~Q(pick_lines__status=PickLine.Status.OPEN))


def handover_lines(handover: HandoverJob) -> QuerySet[OrderLine]:
    """The order lines this customer handover gives out, in primary-key order."""
    return (OrderLine.objects.filter(_lines_where(facility_id=handover.facility_id), order_id=handover.order_id)
            .distinct().order_by("pk"))


def _ready() -> QuerySet[HandoverJob]:
    return HandoverJob.objects.filter(channel=HandoverJob.Channel.CUSTOMER, status=Status.OPEN)


def _with_lines(handovers: list[HandoverJob]) -> list[HandoverJob]:
    """Attach `items` (their handover lines, with products) to every handover: one query for all."""
    by_key: dict[tuple[int, int], list[OrderLine]] = {}
    facility_ids = {handover.facility_id for handover in handovers}
    if handovers:
        lines = (OrderLine.objects.filter(order_id__in={handover.order_id for handover in handovers})
                 .filter(Q(*[_lines_where(facility_id=facility_id) for facility_id in facility_ids], _connector=Q.OR))
                 .select_related("product").distinct().order_by("pk"))
        for line in lines:
            by_key.setdefault((line.order_id, line.allocated_facility_id), []).append(line)
    for handover in handovers:
        handover.items = by_key.get((handover.order_id, handover.facility_id), [])
        handover.units = sum(line.quantity for line in handover.items)
    return handovers


def pickup_search(*, facility: Facility, query: str) -> list[HandoverJob]:
    """The store's ready pickups matching the query, oldest first (two queries).

    Matches the pickup code (exact, any case), the order name (with or without '#'), or a part of the
    customer's name, email or phone; an empty query lists every ready pickup.
    """
    handovers = _ready().filter(facility=facility).select_related("order")
    query = scanned(query)
    if query:
        name = query if query.startswith("#") else f"#{query}"
        handovers = handovers.filter(
            Q(pickup_code__iexact=normalize_code(query)) | Q(order__name__iexact=query) | Q(order__name__iexact=name)
            | Q(order__customer_name__icontains=query) | Q(order__email__icontains=query)
            | Q(order__phone__icontains=query)
        )
    return _with_lines(list(handovers.order_by("created_at", "pk")[:SEARCH_LIMIT]))


def _canceled_at(handover: HandoverJob) -> datetime | None:
    return (TransitionLog.objects.filter(object_type="handoverjob", object_id=handover.pk, transition="cancel")
            .order_by("-at").values_list("at", flat=True).first())


def _changed_by(handover: HandoverJob) -> str:
    """Who made the handover's last logged change (its version has no changed_by of its own)."""
    last = (TransitionLog.objects.filter(object_type="handoverjob", object_id=handover.pk)
            .select_related("actor").order_by("-at", "-pk").first())
    return _name(last.actor if last else None)


def _when(moment: datetime | None, facility: Facility) -> str:
    return moment.astimezone(facility.tz).strftime("%a %b %-d, %H:%M") if moment else "an earlier day"


def _check_open(handover: HandoverJob, facility: Facility) -> None:
    """Refuse a pickup that is collected or canceled, saying when and why."""
    if handover.status == Status.HANDED_OVER:
        who = f" by {_name(handover.handed_over_by)}" if handover.handed_over_by_id else ""
        raise CounterError(f"Order {handover.order.name} was already collected on "
                           f"{_when(handover.handed_over_at, facility)} (handed over{who}).", status=409)
    if handover.status == Status.CANCELED:
        when = _when(_canceled_at(handover) or handover.expires_at, facility)
        reason = handover.cancel_reason
        if reason == HandoverJob.CancelReason.CONSUMER_NO_SHOW:
            text = f"The pickup of order {handover.order.name} expired on {when} and the items went back to the shelf."
        elif reason == HandoverJob.CancelReason.CONSUMER_REJECTS:
            text = f"The customer refused order {handover.order.name} on {when}; the items went back to the shelf."
        else:
            text = f"Order {handover.order.name} was canceled on {when}: nothing to hand over."
        raise CounterError(text, status=409)


def pickup_find_by_code(*, facility: Facility, code: str) -> HandoverJob:
    """check: the store's ready pickup with this code, or a refusal saying why there is none.

    Another store's code only names that store: nothing else of its order is shown here.
    """
    code = normalize_code(code)
    if not code:
        raise CounterError("Scan the QR code on the customer's phone, or type their pickup code.")
    handover = (HandoverJob.objects.filter(pickup_code__iexact=code, channel=HandoverJob.Channel.CUSTOMER)
                .select_related("order", "facility", "handed_over_by").first())
    if handover is None:
        raise CounterError(f"No pickup has the code {code}. Check it with the customer, or search by name.",
                           status=404)
    if handover.facility_id != facility.pk:
        raise CounterError(f"This order is for pickup at {handover.facility.name}.")
    _check_open(handover, facility)
    return handover


@dataclass
class PickupDetail:
    handover: HandoverJob
    lines: list[OrderLine]  # what the customer collects (ready) or collected/refused (done)
    refused: list[OrderLine] = field(default_factory=list)


def pickup_detail(*, facility: Facility, handover_id: int) -> PickupDetail:
    """One customer handover of the store with its lines (404 for another store's), three queries.

    A handover that is done shows what was handed over and what was refused (from the put-back).
    """
    handover = (HandoverJob.objects.filter(pk=handover_id, facility=facility, channel=HandoverJob.Channel.CUSTOMER)
                .select_related("order", "handed_over_by").first())
    if handover is None:
        raise CounterError("This pickup does not exist in this store.", status=404)
    if handover.status == Status.OPEN:
        return PickupDetail(handover=handover, lines=list(handover_lines(handover).select_related("product")))
    lines = list(OrderLine.objects.filter(order_id=handover.order_id, pickup_facility_id=facility.pk,
                                          allocated_facility_id=facility.pk)
                 .filter(Q(status=OrderLine.Status.FULFILLED)
                         | Q(put_back_items__task__reason=PutBackTask.Reason.CONSUMER_REJECTS))
                 .select_related("product").distinct().order_by("pk"))
    return PickupDetail(handover=handover, lines=[line for line in lines if line.status == OrderLine.Status.FULFILLED],
                        refused=[line for line in lines if line.status != OrderLine.Status.FULFILLED])


# --- handing over --------------------------------------------------------------------------------

@dataclass
class PickupResult:
    handover: HandoverJob
    handed_over: list[OrderLine]
    refused: list[OrderLine]
    put_back: PutBackTask | None

    @property
    def message(self) -> str:
        order = self.handover.order.name
        units = sum(line.quantity for line in self.handed_over)
        refused = sum(line.quantity for line in self.refused)
        back = f"{refused} refused item{'s' if refused != 1 else ''} to put back on the shelf (see Put back)."
        if not self.handed_over:
            return f"The customer refused order {order}: {back}"
        text = f"Handed over order {order}: {units} item{'s' if units != 1 else ''}."
        return f"{text} {back}" if refused else text


def _proof_clean(proof: dict | None, *, required: bool) -> dict[str, str]:
    """The proof-of-pickup fields, checked; blank when the store does not ask and nothing was given."""
    proof = proof or {}
    name = " ".join(str(proof.get("name") or "").split())[:120]
    relation = str(proof.get("relation") or "").strip().upper()
    last4 = "".join(str(proof.get("id_last4") or "").split()).upper()
    if required or name or relation or last4:
        if required and not name:
            raise CounterError("Type the name of the person collecting the order.")
        if (required or relation) and relation not in Relation:
            raise CounterError("Choose who is collecting: the customer or someone else.")
        if (required or last4) and not ID_LAST4.match(last4):
            raise CounterError("Type the last 4 characters of their ID (letters or digits).")
    return {"collected_by": name, "collected_relation": relation, "collected_id_last4": last4}


def _lock(*, handover_id: int, facility_id: int) -> tuple[HandoverJob, list[OrderLine]]:
    """Lock the order, then its lines (primary-key order), then the handover; return it with its lines."""
    order_id = (HandoverJob.objects.filter(pk=handover_id, facility_id=facility_id,
                                           channel=HandoverJob.Channel.CUSTOMER)
                .values_list("order_id", flat=True).first())
    if order_id is None:
        raise CounterError("This pickup does not exist in this store.", status=404)
    list(Order.objects.filter(pk=order_id).select_for_update(of=("self",)).values_list("pk", flat=True))
    list(OrderLine.objects.filter(order_id=order_id).order_by("pk").select_for_update(of=("self",))
         .values_list("pk", flat=True))
    handover = (HandoverJob.objects.select_for_update(of=("self",))
                .select_related("order", "facility", "handed_over_by").get(pk=handover_id))
    return handover, list(handover_lines(handover).select_related("product"))


def _check(
    *, handover: HandoverJob, lines: list[OrderLine], version: int | None, refused: dict[int, str],
    proof: dict | None,
) -> tuple[list[OrderLine], dict[int, str], dict[str, str]]:
    """check: state, version, the refused lines and their reasons, the proof; returns (lines to hand over,
    reasons of the refused lines, proof fields)."""
    facility = handover.facility
    _check_open(handover, facility)
    if version is not None and handover.version != version:
        raise CounterError(f"This pickup was changed by {_changed_by(handover)} — reload.", status=409)
    if not lines:
        raise CounterError(f"Nothing of order {handover.order.name} is left to hand over — ask the office.",
                           status=409)
    by_id = {line.pk: line for line in lines}
    reasons: dict[int, str] = {}
    for line_id, reason in (refused or {}).items():
        line = by_id.get(line_id)
        if line is None:
            raise CounterError("An item you refused is no longer part of this pickup — reload.", status=409)
        reason = " ".join(str(reason or "").split())
        if not reason:
            name = line.product.name if line.product_id else line.sku
            raise CounterError(f"Say why the customer refuses {name}.")
        reasons[line_id] = reason[:120]
    fields = _proof_clean(proof, required=facility.pickup_proof_required and len(reasons) < len(lines))
    return [line for line in lines if line.pk not in reasons], reasons, fields


def pickup_fulfillment_payload(*, handover: HandoverJob, lines: list[OrderLine]) -> dict:
    """The shop's "fulfillment" message of a pickup (docs/shop-messages.md): the carrier message's shape,
    without carrier or parcels."""
    order = handover.order
    return {
        "external_id": order.external_id,
        "name": order.name,
        "facility": handover.facility.code,
        "carrier": None,
        "service": "PICKUP",
        "parcels": [],
        "lines": [{"external_line_id": line.external_line_id, "sku": line.sku, "quantity": line.quantity}
                  for line in lines],
    }


def _hand_over(
    *, handover: HandoverJob, to_hand_over: list[OrderLine], reasons: dict[int, str], by_id: dict[int, OrderLine],
    proof: dict[str, str], actor, now: datetime,
) -> PickupResult:
    """do: cancel the refused lines (held for one put-back task), tell the shop, hand the rest over, close
    the handover. Expects the order, its lines and the handover locked by `_lock`."""
    order = handover.order
    entries: list[TransitionLog] = []
    refused = [by_id[line_id] for line_id in sorted(reasons)]
    put_back = None
    if refused:
        by_reason: dict[str, list[OrderLine]] = {}
        for line in refused:
            by_reason.setdefault(reasons[line.pk], []).append(line)
        for reason, lines in by_reason.items():
            entries += order_lines_cancel_held(order=order, lines=lines, actor=actor, now=now,
                                               reason=f"refused by the customer: {reason}")
        put_back = put_back_create(
            facility_id=handover.facility_id, order_id=order.pk, items=[(line, line.quantity) for line in refused],
            reason=PutBackTask.Reason.CONSUMER_REJECTS, now=now,
            note="; ".join(f"{line.sku}: {reasons[line.pk]}" for line in refused),
        )
    if to_hand_over:
        try:
            entries += units_leave(
                order=order, facility=handover.facility, items=[(line, line.quantity) for line in to_hand_over],
                departure=f"handover:{handover.pk}",
                shop_payload=pickup_fulfillment_payload(handover=handover, lines=to_hand_over),
                erp=ErpFulfilled(carrier="", service="PICKUP", tracking_numbers=[]),
                actor=actor, reason="collected by the customer", source=f"pickup {handover.pk}", now=now,
            )
        except (LineError, StockError) as exc:
            raise CounterError(f"Order {order.name} cannot be handed over: {exc}. Ask the office.") from exc
        entries.append(transit(handover, "hand_over", actor=actor, at=now, reason="collected by the customer"))
        handover.handed_over_by = actor
        handover.handed_over_at = now
        for name, value in proof.items():
            setattr(handover, name, value)
    else:
        entries.append(transit(handover, "cancel", actor=actor, at=now, reason="the customer refused every item"))
        handover.cancel_reason = HandoverJob.CancelReason.CONSUMER_REJECTS
    handover.version += 1
    handover.save(update_fields=["status", "cancel_reason", "handed_over_by", "handed_over_at", "collected_by",
                                 "collected_relation", "collected_id_last4", "version"])
    record(entries)
    return PickupResult(handover=handover, handed_over=to_hand_over, refused=refused, put_back=put_back)


def pickup_hand_over(
    *, handover_id: int, facility_id: int, actor, version: int | None, refused: dict[int, str] | None = None,
    proof: dict | None = None, now: datetime | None = None,
) -> PickupResult:
    """Hand a ready pickup to the customer at the counter, in one transaction.

    `refused` maps order line ids the customer refuses to the reason (required): those lines are
    canceled and their units go to one put-back task. Refusing everything cancels the handover
    (CONSUMER_REJECTS). `proof` ({"name", "relation": SELF|OTHER, "id_last4"}) is required when the
    store asks for proof of pickup. Any refusal leaves everything unchanged.
    """
    now = now or timezone.now()
    with transaction.atomic():
        handover, lines = _lock(handover_id=handover_id, facility_id=facility_id)
        to_hand_over, reasons, fields = _check(handover=handover, lines=lines, version=version,
                                               refused=refused or {}, proof=proof)
        return _hand_over(handover=handover, to_hand_over=to_hand_over, reasons=reasons,
                          by_id={line.pk: line for line in lines}, proof=fields, actor=actor, now=now)
