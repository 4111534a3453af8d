"""Packing ship orders: pack jobs, shipments, parcels and their labels, up to the carrier handover job.

Every action an associate can trigger follows the check/do split: `_packing_lock` locks the order, the
pack job (checking facility and the version the associate saw), then its parcels and its shipment —
in the order the order cancellation takes them (order, pack job, parcels, shipment), so the two never
deadlock — and the `pack_*` / `parcel_*` function checks the states and performs the write, logging
every transition. A tap carrying an older version is refused (HTTP 409 on the page): two associates never
label, void or close twice.

Carrier adapters are called inside the transaction, with the rows locked: the built-in carrier
numbers its labels from our own database, and a carrier refusal rolls everything back.
"""

from dataclasses import dataclass
from datetime import date, datetime

from django.db import transaction
from django.db.models import Count, IntegerField, OuterRef, Prefetch, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from fulfillment import documents
from fulfillment.carriers import carrier_default, carrier_get
from fulfillment.carriers.base import Address, Carrier, CarrierError, LabelRequest, LabelResult, ParcelSpec
from fulfillment.errors import StoreRefusal
from fulfillment.models import BoxType, HandoverJob, PackJob, Parcel, ParcelItem, PickJob, Shipment
from oms.core.history import record, transit
from oms.models import Order, OrderLine, TransitionLog
from stores.models import Facility

JobStatus = PackJob.Status
ParcelStatus = Parcel.Status
ShipmentStatus = Shipment.Status
LIVE_PARCEL = [ParcelStatus.OPEN, ParcelStatus.LABELED, ParcelStatus.HANDED_OVER]
LABELLED = {ParcelStatus.LABELED, ParcelStatus.HANDED_OVER}


class PackError(StoreRefusal):
    """A packing step the pack job's state does not allow."""


class StalePackJob(PackError):
    status = 409


def pack_job_create(
    *, pick_job: PickJob, lines: list[tuple[OrderLine, int]], actor, now: datetime
) -> tuple[PackJob, list[TransitionLog]]:
    """The pack job for what a closed pick job picked of ship lines: [(order line, quantity picked)].

    Creates the OPEN Shipment with one OPEN parcel holding every picked unit (the default: everything
    in one box; the associate may spread them over more parcels while packing) and the OPEN PackJob.
    Runs inside the pick job's closing transaction; returns the job and no log entries (nothing
    changed state: everything starts in its initial state).
    """
    shipment = Shipment.objects.create(
        order_id=pick_job.order_id, facility_id=pick_job.facility_id,
        fulfillment_request_id=pick_job.fulfillment_request_id, created_at=now,
    )
    weight = sum((line.product.weight_grams if line.product_id else 0) * quantity for line, quantity in lines)
    parcel = Parcel.objects.create(shipment=shipment, weight_grams=weight, created_at=now)
    ParcelItem.objects.bulk_create(
        [ParcelItem(parcel=parcel, order_line=line, quantity=quantity) for line, quantity in lines if quantity]
    )
    job = PackJob.objects.create(
        facility_id=pick_job.facility_id, order_id=pick_job.order_id, pick_job=pick_job, shipment=shipment,
        created_at=now,
    )
    return job, []


# --- locks and checks ----------------------------------------------------------------------------

def _name(user) -> str:
    if user is None:
        return "someone else"
    return user.get_full_name() or user.get_username()


@dataclass
class _Packing:
    """A pack job with its shipment and live parcels, all locked; `items` maps parcel id to its items."""

    job: PackJob
    shipment: Shipment
    parcels: list[Parcel]
    items: dict[int, list[ParcelItem]]

    def parcel(self, parcel_id: int) -> Parcel:
        for parcel in self.parcels:
            if parcel.pk == parcel_id:
                return parcel
        raise PackError("That parcel is not part of this pack job — reload.", status=404)

    def number(self, parcel: Parcel) -> int:
        return self.parcels.index(parcel) + 1

    def content_weight(self, parcel: Parcel) -> int:
        return sum(_unit_weight(item.order_line) * item.quantity for item in self.items.get(parcel.pk, []))

    def is_empty(self, parcel: Parcel) -> bool:
        return not self.items.get(parcel.pk)


def _unit_weight(line: OrderLine) -> int:
    return line.product.weight_grams if line.product_id else 0


def _packing_lock(*, pack_job_id: int, facility_id: int, version: int | None) -> _Packing:
    """check: lock the job's order, the pack job (one of another facility does not exist here), check its
    version, then lock its parcels and shipment."""
    order_id = (PackJob.objects.filter(pk=pack_job_id, facility_id=facility_id)
                .values_list("order_id", flat=True).first())
    if order_id is None:
        raise PackError("This pack job does not exist in this store.", status=404)
    list(Order.objects.filter(pk=order_id).select_for_update(of=("self",)))
    job = (PackJob.objects.select_for_update(of=("self",))
           .select_related("changed_by", "assigned_to", "order", "facility").get(pk=pack_job_id))
    if version is not None and job.version != version:
        raise StalePackJob(f"This pack job was changed by {_name(job.changed_by)} — reload to see what changed.")
    parcels = list(Parcel.objects.filter(shipment_id=job.shipment_id, status__in=LIVE_PARCEL)
                   .select_related("box_type").order_by("pk").select_for_update(of=("self",)))
    shipment = Shipment.objects.select_for_update().get(pk=job.shipment_id)
    items: dict[int, list[ParcelItem]] = {}
    for item in (ParcelItem.objects.filter(parcel__in=parcels).select_related("order_line__product")
                 .order_by("order_line_id", "pk")):
        items.setdefault(item.parcel_id, []).append(item)
    return _Packing(job=job, shipment=shipment, parcels=parcels, items=items)


def _check_packing(job: PackJob, *, closed_ok: bool = False) -> None:
    """Parcels change only while the job is being packed (labels may be redone after it closed)."""
    if job.status == JobStatus.IN_PROGRESS or (closed_ok and job.status == JobStatus.CLOSED):
        return
    if job.status == JobStatus.OPEN:
        raise PackError("Tap “Start packing” first.")
    raise PackError(f"This pack job is {job.get_status_display().lower()}: nothing more to pack.")


def _check_not_shipped(shipment: Shipment) -> None:
    if shipment.status in (ShipmentStatus.SHIPPED, ShipmentStatus.CANCELED):
        raise PackError(f"This shipment is {shipment.get_status_display().lower()}: its labels cannot change.")


def _check_open_parcel(packing: _Packing, parcel: Parcel, doing: str) -> None:
    if parcel.status != ParcelStatus.OPEN:
        raise PackError(f"Parcel {packing.number(parcel)} is labelled: void its label before you {doing}.")


def _touch(job: PackJob, actor, fields: tuple[str, ...] = ()) -> None:
    job.version += 1
    job.changed_by = actor
    job.save(update_fields=[*fields, "version", "changed_by"])


def _shipment_sync(packing: _Packing, *, actor, now: datetime, reason: str) -> list[TransitionLog]:
    """OPEN → READY when every non-empty parcel is labelled, READY → OPEN when one no longer is."""
    shipment = packing.shipment
    ready = any(not packing.is_empty(p) for p in packing.parcels) and all(
        p.status in LABELLED for p in packing.parcels if not packing.is_empty(p))
    if ready and shipment.status == ShipmentStatus.OPEN:
        entry = transit(shipment, "mark_ready", actor=actor, reason=reason, at=now)
    elif not ready and shipment.status == ShipmentStatus.READY:
        entry = transit(shipment, "reopen", actor=actor, reason=reason, at=now)
    else:
        return []
    shipment.save(update_fields=["status"])
    return [entry]


# --- pack job ------------------------------------------------------------------------------------

def pack_job_start(
    *, pack_job_id: int, facility_id: int, actor, version: int | None, now: datetime | None = None
) -> PackJob:
    """OPEN → IN_PROGRESS: the job becomes the associate's."""
    now = now or timezone.now()
    with transaction.atomic():
        packing = _packing_lock(pack_job_id=pack_job_id, facility_id=facility_id, version=version)
        job = packing.job
        if job.status != JobStatus.OPEN:
            raise PackError(f"This pack job is {job.get_status_display().lower()}, it cannot be started.")
        entry = transit(job, "start", actor=actor, reason="started packing", at=now)
        job.assigned_to = actor
        _touch(job, actor, ("status", "assigned_to"))
        record([entry])
    return job


def pack_job_close(
    *, pack_job_id: int, facility_id: int, actor, version: int | None, now: datetime | None = None
) -> HandoverJob:
    """IN_PROGRESS → CLOSED once every parcel is labelled; creates the carrier's OPEN handover job.

    Empty parcels are left out of the shipment (deleted) first.
    """
    now = now or timezone.now()
    with transaction.atomic():
        packing = _packing_lock(pack_job_id=pack_job_id, facility_id=facility_id, version=version)
        job, shipment = packing.job, packing.shipment
        _check_packing(job)
        unlabelled = [packing.number(p) for p in packing.parcels
                      if not packing.is_empty(p) and p.status != ParcelStatus.LABELED]
        if unlabelled:
            names = ", ".join(str(number) for number in unlabelled)
            raise PackError(f"Parcel {names} has no label yet." if len(unlabelled) == 1
                            else f"Parcels {names} have no label yet.")
        if shipment.status != ShipmentStatus.READY:
            raise PackError(f"The shipment is {shipment.get_status_display().lower()}, not ready to hand over.")

        empty = [p.pk for p in packing.parcels if packing.is_empty(p)]
        Parcel.objects.filter(pk__in=empty).delete()
        entries = [transit(job, "close", actor=actor, reason="every parcel labelled", at=now)]
        job.closed_at = now
        _touch(job, actor, ("status", "closed_at"))
        handover = HandoverJob.objects.create(
            facility_id=job.facility_id, order_id=job.order_id, channel=HandoverJob.Channel.CARRIER,
            shipment=shipment, carrier=shipment.carrier, created_at=now,
        )
        record(entries)
    return handover


# --- parcels -------------------------------------------------------------------------------------

def parcel_add(
    *, pack_job_id: int, facility_id: int, actor, version: int | None, now: datetime | None = None
) -> Parcel:
    """A new, empty parcel in the job's shipment (items are moved into it next)."""
    now = now or timezone.now()
    with transaction.atomic():
        packing = _packing_lock(pack_job_id=pack_job_id, facility_id=facility_id, version=version)
        _check_packing(packing.job)
        parcel = Parcel.objects.create(shipment=packing.shipment, created_at=now)
        _touch(packing.job, actor)
    return parcel


def parcel_remove(
    *, pack_job_id: int, facility_id: int, parcel_id: int, actor, version: int | None,
) -> None:
    """Delete an empty, unlabelled parcel (never the last one)."""
    with transaction.atomic():
        packing = _packing_lock(pack_job_id=pack_job_id, facility_id=facility_id, version=version)
        _check_packing(packing.job)
        parcel = packing.parcel(parcel_id)
        if not packing.is_empty(parcel):
            raise PackError(f"Parcel {packing.number(parcel)} still holds items: move them out first.")
        _check_open_parcel(packing, parcel, "remove it")
        if len(packing.parcels) == 1:
            raise PackError("A shipment needs at least one parcel.")
        parcel.delete()
        _touch(packing.job, actor)


def parcel_item_move(
    *, pack_job_id: int, facility_id: int, order_line_id: int, from_parcel_id: int, to_parcel_id: int | None,
    quantity: int, actor, version: int | None, now: datetime | None = None,
) -> Parcel:
    """Move `quantity` units of an order line from one open parcel to another (None: a new parcel).

    Both parcels' weights are recomputed from their contents and box (a weight entered before no
    longer matches what is inside). Returns the parcel the units went to.
    """
    now = now or timezone.now()
    with transaction.atomic():
        packing = _packing_lock(pack_job_id=pack_job_id, facility_id=facility_id, version=version)
        _check_packing(packing.job)
        source = packing.parcel(from_parcel_id)
        _check_open_parcel(packing, source, "take items out of it")
        item = next((i for i in packing.items.get(source.pk, []) if i.order_line_id == order_line_id), None)
        if item is None:
            raise PackError(f"Parcel {packing.number(source)} does not hold that item — reload.", status=409)
        if not 0 < quantity <= item.quantity:
            raise PackError(f"Move between 1 and {item.quantity} units.")
        if to_parcel_id is None:
            target = Parcel.objects.create(shipment=packing.shipment, created_at=now)
            packing.parcels.append(target)
        else:
            target = packing.parcel(to_parcel_id)
            if target.pk == source.pk:
                raise PackError("Choose another parcel to move the units to.")
            _check_open_parcel(packing, target, "put items into it")

        if quantity == item.quantity:
            item.delete()
            packing.items[source.pk].remove(item)
        else:
            item.quantity -= quantity
            item.save(update_fields=["quantity"])
        moved = next((i for i in packing.items.get(target.pk, []) if i.order_line_id == order_line_id), None)
        if moved is None:
            moved = ParcelItem.objects.create(parcel=target, order_line=item.order_line, quantity=quantity)
            packing.items.setdefault(target.pk, []).append(moved)
        else:
            moved.quantity += quantity
            moved.save(update_fields=["quantity"])
        for parcel in (source, target):
            parcel.weight_grams = packing.content_weight(parcel) + (parcel.box_type.tare_weight_grams
                                                                    if parcel.box_type_id else 0)
            parcel.save(update_fields=["weight_grams"])
        _touch(packing.job, actor)
    return target


def parcel_default_weight(*, content_grams: int, box_type: BoxType | None) -> int:
    """What the parcel weighs unless the associate weighs it: its items plus the empty box."""
    return content_grams + (box_type.tare_weight_grams if box_type else 0)


def parcel_set_box(
    *, pack_job_id: int, facility_id: int, parcel_id: int, box_type_id: int, weight_grams: int | None,
    actor, version: int | None,
) -> Parcel:
    """Choose the parcel's box and weight (None: the items' weight plus the box's own weight)."""
    with transaction.atomic():
        packing = _packing_lock(pack_job_id=pack_job_id, facility_id=facility_id, version=version)
        _check_packing(packing.job)
        parcel = packing.parcel(parcel_id)
        _check_open_parcel(packing, parcel, "change its box")
        box = BoxType.objects.filter(pk=box_type_id, is_active=True).first()
        if box is None:
            raise PackError("Choose one of the listed boxes.")
        default = parcel_default_weight(content_grams=packing.content_weight(parcel), box_type=box)
        weight = default if weight_grams is None else weight_grams
        if weight <= 0:
            raise PackError(f"Parcel {packing.number(parcel)}: enter a weight above 0 g.")
        if box.max_weight_grams and weight > box.max_weight_grams:
            raise PackError(f"Parcel {packing.number(parcel)} weighs {weight:,} g: the {box.name.lower()} "
                            f"takes at most {box.max_weight_grams:,} g. Choose a larger box or another parcel.")
        parcel.box_type = box
        parcel.weight_grams = weight
        parcel.save(update_fields=["box_type", "weight_grams"])
        _touch(packing.job, actor)
    return parcel


# --- labels --------------------------------------------------------------------------------------

def facility_address(facility: Facility) -> Address:
    return Address(name=facility.name, address1=facility.address1, city=facility.city,
                   postal_code=facility.postal_code, country=facility.country, phone=facility.phone)


def order_ship_to(order: Order) -> Address:
    """The order's shipping address (Shopify's field names) as a carrier address."""
    raw = order.shipping_address or {}

    def text(*keys: str) -> str:
        return next((str(raw[key]).strip() for key in keys if raw.get(key)), "")

    name = text("name") or " ".join(part for part in (text("first_name"), text("last_name")) if part)
    return Address(
        name=name or order.customer_name, company=text("company"), address1=text("address1"),
        address2=text("address2"), city=text("city"), postal_code=text("zip", "postal_code"),
        province=text("province_code", "province"), country=text("country_code", "country"),
        phone=text("phone") or order.phone,
    )


def _carrier_of(shipment: Shipment) -> Carrier:
    """The shipment's carrier once its first parcel is labelled (all its parcels go together), else the default."""
    try:
        return carrier_get(shipment.carrier) if shipment.carrier else carrier_default()
    except CarrierError as exc:
        raise PackError(str(exc)) from exc


def _label_request(packing: _Packing, parcel: Parcel, *, service: str) -> LabelRequest:
    order = packing.job.order
    recipient = order_ship_to(order)
    if not (recipient.address1 and recipient.city and recipient.country):
        raise PackError(f"Order {order.name} has no complete shipping address: ask the office to fix it.")
    box = parcel.box_type
    return LabelRequest(
        sender=facility_address(packing.job.facility), recipient=recipient, service=service, reference=order.name,
        parcel=ParcelSpec(weight_grams=parcel.weight_grams, length_mm=box.length_mm, width_mm=box.width_mm,
                          height_mm=box.height_mm),
    )


def _label_create(packing: _Packing, parcel: Parcel, *, actor, now: datetime) -> TransitionLog:
    """do: ask the carrier for a label and keep it on the parcel (OPEN → LABELED)."""
    number = packing.number(parcel)
    if packing.is_empty(parcel):
        raise PackError(f"Parcel {number} is empty: move items into it or remove it.")
    if parcel.box_type_id is None:
        raise PackError(f"Parcel {number}: choose its box first.")
    if parcel.weight_grams <= 0:
        raise PackError(f"Parcel {number}: enter its weight first.")
    shipment = packing.shipment
    carrier = _carrier_of(shipment)
    service = shipment.service or carrier.services[0][0]
    try:
        result: LabelResult = carrier.create_label(_label_request(packing, parcel, service=service))
    except CarrierError as exc:
        raise PackError(f"{carrier.name} refused the label: {exc}") from exc
    if Parcel.objects.filter(tracking_number=result.tracking_number).exists():
        raise PackError(f"{carrier.name} returned the tracking number {result.tracking_number} a second time.")
    entry = transit(parcel, "label", actor=actor, reason=f"{carrier.name} {result.tracking_number}", at=now,
                    order_id=shipment.order_id)
    parcel.carrier = carrier.code
    parcel.tracking_number = result.tracking_number
    parcel.tracking_url = result.tracking_url
    parcel.label_pdf = result.label_pdf
    parcel.labeled_at = now
    parcel.save(update_fields=["status", "carrier", "tracking_number", "tracking_url", "label_pdf", "labeled_at"])
    if not shipment.carrier:
        shipment.carrier, shipment.service = carrier.code, result.service or service
        shipment.save(update_fields=["carrier", "service"])
    return entry


def _carrier_void(code: str, tracking_number: str) -> None:
    try:
        carrier_get(code).void_label(tracking_number)
    except CarrierError as exc:
        raise PackError(f"The label {tracking_number} could not be voided: {exc}") from exc


def _label_void(
    packing: _Packing, parcel: Parcel, *, actor, now: datetime, reason: str, at_carrier: bool = True
) -> TransitionLog:
    """do: void the label (at its carrier too unless the caller does that later) and keep the old number.

    LABELED → OPEN; the number moves to `voided_tracking_numbers`, so a scan of it is recognised.
    """
    if at_carrier:
        _carrier_void(parcel.carrier, parcel.tracking_number)
    entry = transit(parcel, "void_label", actor=actor, reason=f"{reason}: {parcel.tracking_number}", at=now,
                    order_id=packing.shipment.order_id)
    parcel.voided_tracking_numbers = [*parcel.voided_tracking_numbers, parcel.tracking_number]
    parcel.tracking_number = ""
    parcel.tracking_url = ""
    parcel.label_pdf = None
    parcel.labeled_at = None
    parcel.save(update_fields=["status", "voided_tracking_numbers", "tracking_number", "tracking_url",
                               "label_pdf", "labeled_at"])
    return entry


def parcel_create_label(
    *, pack_job_id: int, facility_id: int, parcel_id: int, actor, version: int | None,
    now: datetime | None = None,
) -> Parcel:
    """Label an open parcel with the shipment's carrier (the default carrier for the first parcel).

    When every non-empty parcel is labelled the shipment becomes READY.
    """
    now = now or timezone.now()
    with transaction.atomic():
        packing = _packing_lock(pack_job_id=pack_job_id, facility_id=facility_id, version=version)
        _check_packing(packing.job, closed_ok=True)
        _check_not_shipped(packing.shipment)
        parcel = packing.parcel(parcel_id)
        if parcel.status != ParcelStatus.OPEN:
            raise PackError(f"Parcel {packing.number(parcel)} is already labelled ({parcel.tracking_number}).")
        entries = [_label_create(packing, parcel, actor=actor, now=now)]
        entries += _shipment_sync(packing, actor=actor, now=now, reason="every parcel labelled")
        _touch(packing.job, actor)
        record(entries)
    return parcel


def parcel_void_label(
    *, pack_job_id: int, facility_id: int, parcel_id: int, actor, version: int | None,
    now: datetime | None = None,
) -> Parcel:
    """Void a parcel's label while packing (LABELED → OPEN); the shipment is no longer READY."""
    now = now or timezone.now()
    with transaction.atomic():
        packing = _packing_lock(pack_job_id=pack_job_id, facility_id=facility_id, version=version)
        if packing.job.status == JobStatus.CLOSED:
            raise PackError("This pack job is closed: use “Void and print a new label” instead.")
        _check_packing(packing.job)
        parcel = packing.parcel(parcel_id)
        if parcel.status != ParcelStatus.LABELED:
            raise PackError(f"Parcel {packing.number(parcel)} has no label to void.")
        entries = [_label_void(packing, parcel, actor=actor, now=now, reason="label voided")]
        entries += _shipment_sync(packing, actor=actor, now=now, reason="a label was voided")
        _touch(packing.job, actor)
        record(entries)
    return parcel


def parcel_relabel(
    *, pack_job_id: int, facility_id: int, parcel_id: int, actor, version: int | None,
    now: datetime | None = None,
) -> Parcel:
    """Void a label and print a new one in one step, also after the job closed (until it is handed over).

    The new label is created first: if the carrier refuses it nothing changes, and the old label stays
    valid; if the old one then cannot be voided, the new one is left unused at the carrier.
    """
    now = now or timezone.now()
    with transaction.atomic():
        packing = _packing_lock(pack_job_id=pack_job_id, facility_id=facility_id, version=version)
        _check_packing(packing.job, closed_ok=True)
        _check_not_shipped(packing.shipment)
        parcel = packing.parcel(parcel_id)
        if parcel.status != ParcelStatus.LABELED:
            raise PackError(f"Parcel {packing.number(parcel)} has no label to replace.")
        old_carrier, old_number = parcel.carrier, parcel.tracking_number
        entries = [_label_void(packing, parcel, actor=actor, now=now, reason="label replaced", at_carrier=False)]
        entries.append(_label_create(packing, parcel, actor=actor, now=now))
        _carrier_void(old_carrier, old_number)
        _touch(packing.job, actor)
        record(entries)
    return parcel


def shipment_issue_return_label(
    *, pack_job_id: int, facility_id: int, actor, version: int | None, now: datetime | None = None,
) -> Shipment:
    """Issue the shipment's return tracking number (customer → store) through its carrier, once."""
    with transaction.atomic():
        packing = _packing_lock(pack_job_id=pack_job_id, facility_id=facility_id, version=version)
        shipment = packing.shipment
        if packing.job.status == JobStatus.CANCELED or shipment.status == ShipmentStatus.CANCELED:
            raise PackError("This shipment was canceled.")
        if shipment.return_tracking_number:
            return shipment
        heaviest = max((p for p in packing.parcels if not packing.is_empty(p)),
                       key=lambda p: p.weight_grams, default=None)
        if heaviest is None or heaviest.box_type_id is None:
            raise PackError("Choose the box of the parcel first: the return label uses its size.")
        carrier = _carrier_of(shipment)
        outbound = _label_request(packing, heaviest, service=shipment.service or carrier.services[0][0])
        request = LabelRequest(sender=outbound.recipient, recipient=outbound.sender, parcel=outbound.parcel,
                               service=outbound.service, reference=outbound.reference, is_return=True)
        try:
            result = carrier.create_label(request)
        except CarrierError as exc:
            raise PackError(f"{carrier.name} refused the return label: {exc}") from exc
        shipment.return_tracking_number = result.tracking_number
        shipment.save(update_fields=["return_tracking_number"])
        _touch(packing.job, actor)
    return shipment


# --- documents -----------------------------------------------------------------------------------

def _carrier_names(code: str, service: str) -> tuple[str, str]:
    try:
        carrier = carrier_get(code)
    except CarrierError:
        return code, service
    return carrier.name, dict(carrier.services).get(service, service)


def _local_date(value: datetime | None, facility: Facility) -> date:
    return (value or timezone.now()).astimezone(facility.tz).date()


def parcel_label_pdf(*, parcel: Parcel) -> bytes:
    """The parcel's 4×6 in label: the carrier's own PDF when it sent one, otherwise drawn by Storefill."""
    if parcel.status not in LABELLED or not parcel.tracking_number:
        raise PackError("This parcel has no label: create one first.", status=404)
    if parcel.label_pdf:
        return bytes(parcel.label_pdf)
    shipment = Shipment.objects.select_related("order", "facility").get(pk=parcel.shipment_id)
    siblings = list(Parcel.objects.filter(shipment=shipment, status__in=LIVE_PARCEL).order_by("pk")
                    .values_list("pk", flat=True))
    carrier_name, service_name = _carrier_names(parcel.carrier, shipment.service)
    return documents.shipping_label_pdf(documents.LabelData(
        sender=facility_address(shipment.facility), recipient=order_ship_to(shipment.order),
        carrier_name=carrier_name, service_name=service_name, weight_grams=parcel.weight_grams,
        tracking_number=parcel.tracking_number, reference=shipment.order.name,
        parcel_index=siblings.index(parcel.pk) + 1 if parcel.pk in siblings else 1,
        parcel_count=len(siblings) or 1, shipped_on=_local_date(parcel.labeled_at, shipment.facility),
    ))


def shipment_return_label_pdf(*, shipment: Shipment) -> bytes:
    """The return label: from the customer back to the store, with the return tracking number."""
    if not shipment.return_tracking_number:
        raise PackError("This shipment has no return label yet.", status=404)
    shipment = Shipment.objects.select_related("order", "facility").get(pk=shipment.pk)
    weight = (Parcel.objects.filter(shipment=shipment, status__in=LIVE_PARCEL)
              .order_by("-weight_grams").values_list("weight_grams", flat=True).first()) or 0
    carrier_name, service_name = _carrier_names(shipment.carrier, shipment.service)
    return documents.shipping_label_pdf(documents.LabelData(
        sender=order_ship_to(shipment.order), recipient=facility_address(shipment.facility),
        carrier_name=carrier_name, service_name=service_name, weight_grams=weight,
        tracking_number=shipment.return_tracking_number, reference=shipment.order.name,
        parcel_index=1, parcel_count=1, shipped_on=_local_date(None, shipment.facility), is_return=True,
    ))


def shipment_packing_slip_pdf(*, shipment: Shipment) -> bytes:
    """The packing slip: every line of the order (by shop line), what was ordered and what this shipment holds."""
    shipment = Shipment.objects.select_related("order", "facility").get(pk=shipment.pk)
    order = shipment.order
    shipped: dict[str, int] = {}
    for external_id, quantity in ParcelItem.objects.filter(
        parcel__shipment=shipment, parcel__status__in=LIVE_PARCEL
    ).values_list("order_line__external_line_id", "quantity"):
        shipped[external_id] = shipped.get(external_id, 0) + quantity
    rows: dict[str, list] = {}
    for line in order.lines.select_related("product").order_by("pk"):
        # Splits keep the shop's line id: together they are what the customer ordered on that line.
        row = rows.setdefault(line.external_line_id, [line.sku, line.product.name if line.product_id else line.title,
                                                      0])
        row[2] += line.quantity
    lines = [documents.PackingSlipLine(sku=sku, name=name, ordered_quantity=ordered,
                                       shipped_quantity=shipped.get(external_id, 0))
             for external_id, (sku, name, ordered) in rows.items()]
    return documents.packing_slip_pdf(documents.PackingSlipData(
        facility_name=shipment.facility.name, facility_address=facility_address(shipment.facility),
        order_name=order.name, ordered_on=_local_date(order.ordered_at, shipment.facility),
        ship_to=order_ship_to(order), lines=lines,
    ))


# --- selectors -----------------------------------------------------------------------------------

def pack_queue(*, facility_id: int) -> list[PackJob]:
    """Open and in-progress pack jobs of the facility, oldest first, with `units` and `parcel_count`.

    A fixed number of queries however long the queue is.
    """
    units = (ParcelItem.objects.filter(parcel__shipment_id=OuterRef("shipment_id"), parcel__status__in=LIVE_PARCEL)
             .values("parcel__shipment_id").annotate(total=Sum("quantity")).values("total"))
    parcels = (Parcel.objects.filter(shipment_id=OuterRef("shipment_id"), status__in=LIVE_PARCEL)
               .values("shipment_id").annotate(total=Count("pk")).values("total"))
    return list(
        PackJob.objects.filter(facility_id=facility_id, status__in=[JobStatus.OPEN, JobStatus.IN_PROGRESS])
        .select_related("order", "assigned_to")
        .annotate(units=Coalesce(Subquery(units, output_field=IntegerField()), 0),
                  parcel_count=Coalesce(Subquery(parcels, output_field=IntegerField()), 0))
        .order_by("created_at", "pk")
    )


def pack_job_detail(*, facility_id: int, pack_job_id: int) -> PackJob | None:
    """The pack job with its shipment, order, live parcels (`job.parcel_list`, each numbered, with
    `item_list` and `content_grams`) in a fixed number of queries; None when not in this facility."""
    items = ParcelItem.objects.select_related("order_line__product").order_by("order_line_id", "pk")
    parcels = (Parcel.objects.filter(status__in=LIVE_PARCEL).select_related("box_type").order_by("pk")
               .prefetch_related(Prefetch("items", queryset=items)))
    job = (PackJob.objects.filter(pk=pack_job_id, facility_id=facility_id)
           .select_related("order", "shipment", "assigned_to", "changed_by", "facility")
           .prefetch_related(Prefetch("shipment__parcels", queryset=parcels, to_attr="live_parcels")).first())
    if job is None:
        return None
    job.parcel_list = job.shipment.live_parcels if job.shipment_id else []
    for number, parcel in enumerate(job.parcel_list, start=1):
        parcel.number = number
        parcel.item_list = list(parcel.items.all())
        parcel.content_grams = sum(_unit_weight(item.order_line) * item.quantity for item in parcel.item_list)
        parcel.units = sum(item.quantity for item in parcel.item_list)
    return job


def box_types_active() -> list[BoxType]:
    return list(BoxType.objects.filter(is_active=True))

