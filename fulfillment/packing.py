"""Packing ship orders: pack jobs, shipments and parcels, up to the carrier handover job (labels: `labels`).

Every action an associate can trigger follows the check/do split: `_packing_lock` locks the order, the
pack job (checking facility and the version the associate saw), then its parcels and its shipment —
in the order the order cancellation takes them (order, pack job, parcels, shipment), so the two never
deadlock — and the `pack_*` / `parcel_*` function checks the states and performs the write, logging
every transition. A tap carrying an older version is refused (HTTP 409 on the page): two associates never
label, void or close twice.

Carrier adapters are called inside the transaction, with the rows locked: the built-in carrier
numbers its labels from our own database, and a carrier refusal rolls everything back."""

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import Count, IntegerField, OuterRef, Prefetch, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from fulfillment.carriers import CarrierError, carrier_default, carrier_get
from fulfillment.errors import StoreRefusal
from fulfillment.models import BoxType, HandoverJob, PackJob, Parcel, ParcelItem, PickJob, Shipment
from oms.core.history import record, transit
from oms.models import Order, OrderLine, TransitionLog

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

def user_name(user) -> str:
    if user is None:
        return "someone else"
    return user.get_full_name() or user.get_username()


@dataclass
class Packing:
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
        return sum(unit_weight(item.order_line) * item.quantity for item in self.items.get(parcel.pk, []))

    def is_empty(self, parcel: Parcel) -> bool:
        return not self.items.get(parcel.pk)


def unit_weight(line: OrderLine) -> int:
    return line.product.weight_grams if line.product_id else 0


def packing_lock(*, pack_job_id: int, facility_id: int, version: int | None) -> Packing:
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
        raise StalePackJob(f"This pack job was changed by {user_name(job.changed_by)} — reload to see what changed.")
    return _packing_of(job, lock=True)


def packing_read(*, pack_job_id: int, facility_id: int) -> Packing:
    """The pack job as `packing_lock` gives it, unlocked: for reads that ask a carrier (rates), which must not
    hold rows while the network answers."""
    job = (PackJob.objects.select_related("changed_by", "assigned_to", "order", "facility")
           .filter(pk=pack_job_id, facility_id=facility_id).first())
    if job is None:
        raise PackError("This pack job does not exist in this store.", status=404)
    return _packing_of(job, lock=False)


def _packing_of(job: PackJob, *, lock: bool) -> Packing:
    """The job's live parcels (locked in primary-key order when `lock`), its shipment and the parcels' items."""
    parcels = Parcel.objects.filter(shipment_id=job.shipment_id, status__in=LIVE_PARCEL).select_related(
        "box_type").order_by("pk")
    shipments = Shipment.objects.filter(pk=job.shipment_id)
    if lock:
        parcels, shipments = parcels.select_for_update(of=("self",)), shipments.select_for_update()
    parcels = list(parcels)
    shipment = shipments.get()
    items: dict[int, list[ParcelItem]] = {}
    for item in (ParcelItem.objects.filter(parcel__in=parcels).select_related("order_line__product")
                 .order_by("order_line_id", "pk")):
        items.setdefault(item.parcel_id, []).append(item)
    return Packing(job=job, shipment=shipment, parcels=parcels, items=items)


def check_packing(job: PackJob, *, closed_ok: bool = False) -> None:
    """Parcels change only while the job is being packed (labels may be redone after it closed)."""
    if job.status == JobStatus.IN_PROGRESS or (closed_ok and job.status == JobStatus.CLOSED):
        return
    if job.status == JobStatus.OPEN:
        raise PackError("Tap “Start packing” first.")
    raise PackError(f"This pack job is {job.get_status_display().lower()}: nothing more to pack.")


def check_not_shipped(shipment: Shipment) -> None:
    if shipment.status in (ShipmentStatus.SHIPPED, ShipmentStatus.CANCELED):
        raise PackError(f"This shipment is {shipment.get_status_display().lower()}: its labels cannot change.")


def check_open_parcel(packing: Packing, parcel: Parcel, doing: str) -> None:
    if parcel.status != ParcelStatus.OPEN:
        raise PackError(f"Parcel {packing.number(parcel)} is labelled: void its label before you {doing}.")


def pack_job_touch(job: PackJob, actor, fields: tuple[str, ...] = ()) -> None:
    job.version += 1
    job.changed_by = actor
    job.save(update_fields=[*fields, "version", "changed_by"])


def shipment_sync(packing: Packing, *, actor, now: datetime, reason: str) -> list[TransitionLog]:
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
        packing = packing_lock(pack_job_id=pack_job_id, facility_id=facility_id, version=version)
        job = packing.job
        if job.status != JobStatus.OPEN:
            raise PackError(f"This pack job is {job.get_status_display().lower()}, it cannot be started.")
        entry = transit(job, "start", actor=actor, reason="started packing", at=now)
        job.assigned_to = actor
        pack_job_touch(job, actor, ("status", "assigned_to"))
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
        packing = packing_lock(pack_job_id=pack_job_id, facility_id=facility_id, version=version)
        job, shipment = packing.job, packing.shipment
        check_packing(job)
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
        pack_job_touch(job, actor, ("status", "closed_at"))
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
        packing = packing_lock(pack_job_id=pack_job_id, facility_id=facility_id, version=version)
        check_packing(packing.job)
        parcel = Parcel.objects.create(shipment=packing.shipment, created_at=now)
        pack_job_touch(packing.job, actor)
    return parcel


def parcel_remove(
    *, pack_job_id: int, facility_id: int, parcel_id: int, actor, version: int | None,
) -> None:
    """Delete an empty, unlabelled parcel (never the last one)."""
    with transaction.atomic():
        packing = packing_lock(pack_job_id=pack_job_id, facility_id=facility_id, version=version)
        check_packing(packing.job)
        parcel = packing.parcel(parcel_id)
        if not packing.is_empty(parcel):
            raise PackError(f"Parcel {packing.number(parcel)} still holds items: move them out first.")
        check_open_parcel(packing, parcel, "remove it")
        if len(packing.parcels) == 1:
            raise PackError("A shipment needs at least one parcel.")
        parcel.delete()
        pack_job_touch(packing.job, actor)


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
        packing = packing_lock(pack_job_id=pack_job_id, facility_id=facility_id, version=version)
        check_packing(packing.job)
        source = packing.parcel(from_parcel_id)
        check_open_parcel(packing, source, "take items out of it")
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
            check_open_parcel(packing, target, "put items into it")

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
        pack_job_touch(packing.job, actor)
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
        packing = packing_lock(pack_job_id=pack_job_id, facility_id=facility_id, version=version)
        check_packing(packing.job)
        parcel = packing.parcel(parcel_id)
        check_open_parcel(packing, parcel, "change its box")
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
        prepared = parcel.carrier_state.get("label")
        if prepared and (box.pk, weight) != (parcel.box_type_id, parcel.weight_grams):
            # A label prepared for the old box and weight would be bought as they were: forget it, unless it
            # was bought after all (fulfillment.labels buys in two steps).
            try:
                carrier_get(packing.shipment.carrier or parcel.carrier or carrier_default().code
                            ).label_prepare_discard(prepared)
            except CarrierError as exc:
                raise PackError(str(exc)) from exc
            parcel.carrier_state = {key: value for key, value in parcel.carrier_state.items() if key != "label"}
        parcel.box_type = box
        parcel.weight_grams = weight
        parcel.save(update_fields=["box_type", "weight_grams", "carrier_state"])
        pack_job_touch(packing.job, actor)
    return parcel


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
        parcel.content_grams = sum(unit_weight(item.order_line) * item.quantity for item in parcel.item_list)
        parcel.units = sum(item.quantity for item in parcel.item_list)
    return job


def box_types_active() -> list[BoxType]:
    return list(BoxType.objects.filter(is_active=True))
