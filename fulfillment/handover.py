"""Handing labelled parcels to their carrier: the waiting list, scans, "hand over all" and the manifest.

When the last parcel of a shipment is handed over the shipment is SHIPPED, its carrier handover job
HANDED_OVER, the shop's "fulfillment" message is written to the outbox and the order lines are handed
over (oms.core.lines: stock leaves the building, lines FULFILLED, the order COMPLETED when all is done) —
all in the scan's transaction. Rows are locked in the order the order cancellation takes them
(orders, their lines, handover jobs, parcels, shipments), so a scan racing a cancellation waits
instead of deadlocking; two associates scanning the same parcel serialize on its order, and the
second one is told it is already handed over.
"""

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from fulfillment import documents
from fulfillment.carriers import carrier_get
from fulfillment.carriers.base import CarrierError
from fulfillment.departure import ErpFulfilled, units_leave
from fulfillment.errors import StoreRefusal
from fulfillment.labels import facility_address
from fulfillment.models import HandoverJob, Parcel, ParcelItem, ScanForm, Shipment
from fulfillment.scans import scanned
from oms.core.history import record, transit
from oms.core.lines import LineError
from oms.models import Order, OrderLine, TransitionLog
from stores.models import Facility

ParcelStatus = Parcel.Status


class HandoverError(StoreRefusal):
    """A carrier handover that cannot happen (unknown, voided or already handed-over parcel …)."""


def carrier_name(code: str) -> str:
    try:
        return carrier_get(code).name
    except CarrierError:
        return code  # a carrier no longer configured still has parcels to hand over


def _service_name(code: str, service: str) -> str:
    try:
        return dict(carrier_get(code).services).get(service, service)
    except CarrierError:
        return service


# --- selectors -----------------------------------------------------------------------------------

def _waiting(facility_id: int):
    """Labelled parcels of the facility's open carrier handover jobs (their pack job is closed)."""
    return Parcel.objects.filter(
        status=ParcelStatus.LABELED, shipment__facility_id=facility_id,
        shipment__handovers__status=HandoverJob.Status.OPEN,
        shipment__handovers__channel=HandoverJob.Channel.CARRIER,
    )


def _today(facility: Facility, now: datetime) -> tuple[datetime, datetime]:
    """The facility's local calendar day around `now`, as an aware [start, end) range."""
    day = now.astimezone(facility.tz).date()
    start = datetime.combine(day, time.min, tzinfo=facility.tz)
    return start, datetime.combine(day + timedelta(days=1), time.min, tzinfo=facility.tz)


@dataclass
class CarrierHandover:
    code: str
    name: str
    scan_forms: bool = False  # the carrier makes end-of-day scan forms (EasyPost)
    parcels: list[Parcel] = field(default_factory=list)  # waiting, with shipment and order
    handed_over_today: int = 0


def handover_list(*, facility: Facility, now: datetime | None = None) -> list[CarrierHandover]:
    """Per carrier (by name): the parcels waiting for pickup, oldest label first, and today's count.

    Carriers with nothing waiting but parcels handed over today are listed too (their manifest).
    Two queries however many parcels wait.
    """
    now = now or timezone.now()
    groups: dict[str, CarrierHandover] = {}

    def group_of(code: str) -> CarrierHandover:
        if code not in groups:
            try:
                offers = carrier_get(code).has_scan_forms
            except CarrierError:
                offers = False
            groups[code] = CarrierHandover(code=code, name=carrier_name(code), scan_forms=offers)
        return groups[code]

    parcels = (_waiting(facility.pk).select_related("shipment__order", "box_type")
               .order_by("labeled_at", "pk").distinct())
    for parcel in parcels:
        group_of(parcel.carrier).parcels.append(parcel)
    start, end = _today(facility, now)
    done = (Parcel.objects.filter(status=ParcelStatus.HANDED_OVER, shipment__facility_id=facility.pk,
                                  handed_over_at__gte=start, handed_over_at__lt=end)
            .values("carrier").annotate(count=Count("pk")).order_by())
    for row in done:
        group_of(row["carrier"]).handed_over_today = row["count"]
    return sorted(groups.values(), key=lambda group: (group.name, group.code))


# --- handing over --------------------------------------------------------------------------------

@dataclass
class HandoverResult:
    parcels: list[Parcel]  # handed over now
    shipped: list[Shipment]  # shipments that became SHIPPED

    @property
    def message(self) -> str:
        count = len(self.parcels)
        text = (f"Handed over {self.parcels[0].tracking_number}." if count == 1
                else f"Handed over {count} parcels.")
        if self.shipped:
            names = ", ".join(shipment.order.name for shipment in self.shipped)
            text += f" Shipped: {names}."
        return text


def _parcel_find(*, facility_id: int, tracking_number: str) -> Parcel:
    """check: the facility's parcel with this tracking number, or a refusal saying why there is none."""
    if not tracking_number:
        raise HandoverError("Scan the tracking barcode on the label (or type it and press Enter).")
    parcel = (Parcel.objects.filter(tracking_number=tracking_number, shipment__facility_id=facility_id)
              .select_related("shipment").first())
    if parcel is not None:
        return parcel
    # The JSON list's text holds the number in quotes on PostgreSQL and SQLite alike (JSON containment, `__contains`
    # on a JSONField, is PostgreSQL's only); the list itself then says whether it is one of its numbers.
    voided = Parcel.objects.filter(voided_tracking_numbers__icontains=f'"{tracking_number}"',
                                   shipment__facility_id=facility_id).values_list("voided_tracking_numbers", flat=True)
    if any(tracking_number in numbers for numbers in voided):
        raise HandoverError(f"{tracking_number} was voided: put the parcel's new label on it and scan that.")
    # Another store's parcel reads the same as an unknown number: nothing about it is shown here.
    raise HandoverError(f"No parcel with tracking number {tracking_number} in this store.", status=404)


def _lock(*, order_ids: set[int], shipment_ids: set[int]):
    """Lock, in this order: orders, their lines, the shipments' handover jobs, parcels and shipments."""
    list(Order.objects.filter(pk__in=order_ids).order_by("pk").select_for_update(of=("self",)))
    lines = {line.pk: line for line in OrderLine.objects.filter(order_id__in=order_ids).order_by("pk")
             .select_for_update(of=("self",))}
    jobs = {job.shipment_id: job for job in HandoverJob.objects.filter(
        shipment_id__in=shipment_ids, channel=HandoverJob.Channel.CARRIER, status=HandoverJob.Status.OPEN,
    ).order_by("pk").select_for_update(of=("self",))}
    parcels = list(Parcel.objects.filter(shipment_id__in=shipment_ids).exclude(status=ParcelStatus.CANCELED)
                   .order_by("pk").select_for_update(of=("self",)))
    shipments = {shipment.pk: shipment for shipment in Shipment.objects.filter(pk__in=shipment_ids)
                 .select_related("order", "facility").order_by("pk").select_for_update(of=("self",))}
    return lines, jobs, parcels, shipments


def _check_parcel(parcel: Parcel, jobs: dict[int, HandoverJob], facility: Facility) -> None:
    number = parcel.tracking_number
    if parcel.status == ParcelStatus.HANDED_OVER:
        when = parcel.handed_over_at.astimezone(facility.tz).strftime("%H:%M")
        raise HandoverError(f"{number} is already handed over (at {when}).", status=409)
    if parcel.status != ParcelStatus.LABELED:
        raise HandoverError(f"{number} is not labelled any more — reload.", status=409)
    if parcel.shipment_id not in jobs:
        raise HandoverError(f"{number} is still being packed: close its pack job first.")


def _parcels_hand_over(
    *, facility: Facility, to_hand_over: list[Parcel], lines: dict[int, OrderLine], jobs: dict[int, HandoverJob],
    parcels: list[Parcel], shipments: dict[int, Shipment], actor, now: datetime,
) -> HandoverResult:
    """do: hand the parcels over; ship every shipment none of whose parcels is left.

    Expects everything locked by `_lock`.
    """
    entries: list[TransitionLog] = []
    for parcel in to_hand_over:
        shipment = shipments[parcel.shipment_id]
        entries.append(transit(parcel, "hand_over", actor=actor, reason=f"handed to {carrier_name(parcel.carrier)}",
                               at=now, order_id=shipment.order_id))
        parcel.handed_over_at = now
        parcel.save(update_fields=["status", "handed_over_at"])
    touched = {parcel.shipment_id for parcel in to_hand_over}
    shipped = []
    for shipment_id in sorted(touched):
        own = [parcel for parcel in parcels if parcel.shipment_id == shipment_id]
        if all(parcel.status == ParcelStatus.HANDED_OVER for parcel in own):
            shipment = shipments[shipment_id]
            entries += _shipment_ship(facility=facility, shipment=shipment, job=jobs[shipment_id], parcels=own,
                                      lines=lines, actor=actor, now=now)
            shipped.append(shipment)
    record(entries)
    return HandoverResult(parcels=to_hand_over, shipped=shipped)


def _shipment_ship(
    *, facility: Facility, shipment: Shipment, job: HandoverJob, parcels: list[Parcel],
    lines: dict[int, OrderLine], actor, now: datetime,
) -> list[TransitionLog]:
    """do: READY → SHIPPED, the handover job done, the shop told, then the order lines handed over."""
    name = carrier_name(shipment.carrier)
    entries = [transit(shipment, "ship", actor=actor, reason=f"handed to {name}", at=now)]
    shipment.shipped_at = now
    shipment.save(update_fields=["status", "shipped_at"])
    entries.append(transit(job, "hand_over", actor=actor, reason=f"handed to {name}", at=now))
    job.handed_over_by = actor
    job.handed_over_at = now
    job.save(update_fields=["status", "handed_over_by", "handed_over_at"])

    packed: dict[int, int] = {}
    for line_id, quantity in ParcelItem.objects.filter(parcel__in=parcels).values_list("order_line_id", "quantity"):
        packed[line_id] = packed.get(line_id, 0) + quantity
    shipped_lines = [lines[line_id] for line_id in sorted(packed)]
    for line in shipped_lines:
        if line.status != OrderLine.Status.ALLOCATED:
            raise HandoverError(f"Order {shipment.order.name}: {line.sku} is {line.get_status_display().lower()} "
                                f"— keep the parcel and ask the office.")
        if packed[line.pk] != line.quantity:
            raise HandoverError(f"Order {shipment.order.name}: {packed[line.pk]} of {line.sku} packed, but the order "
                                f"line holds {line.quantity} — keep the parcel and ask the office.")
    try:
        entries += units_leave(
            order=shipment.order, facility=facility, items=[(line, packed[line.pk]) for line in shipped_lines],
            departure=f"shipment:{shipment.pk}",
            shop_payload=fulfillment_payload(shipment=shipment, parcels=parcels, lines=shipped_lines, packed=packed),
            erp=ErpFulfilled(carrier=shipment.carrier, service=shipment.service,
                             tracking_numbers=[parcel.tracking_number for parcel in parcels]),
            actor=actor, reason=f"handed to {name}", source=f"shipment {shipment.pk} to {shipment.carrier}", now=now,
        )
    except LineError as exc:
        raise HandoverError(f"Order {shipment.order.name} cannot be handed over: {exc}.") from exc
    return entries


def fulfillment_payload(
    *, shipment: Shipment, parcels: list[Parcel], lines: list[OrderLine], packed: dict[int, int],
) -> dict:
    """The shop's "fulfillment" message (docs/shop-messages.md)."""
    return {
        "external_id": shipment.order.external_id,
        "name": shipment.order.name,
        "facility": shipment.facility.code,
        "carrier": {"code": shipment.carrier, "name": carrier_name(shipment.carrier)},
        "service": shipment.service,
        "parcels": [{"tracking_number": parcel.tracking_number, "tracking_url": parcel.tracking_url}
                    for parcel in parcels],
        "lines": [{"external_line_id": line.external_line_id, "sku": line.sku, "quantity": packed[line.pk]}
                  for line in lines],
    }


def handover_scan(*, facility: Facility, tracking_number: str, actor, now: datetime | None = None) -> HandoverResult:
    """Hand over the facility's labelled parcel with this tracking number (a scan of its label)."""
    now = now or timezone.now()
    tracking_number = "".join(scanned(tracking_number).split()).upper()
    with transaction.atomic():
        found = _parcel_find(facility_id=facility.pk, tracking_number=tracking_number)
        lines, jobs, parcels, shipments = _lock(order_ids={found.shipment.order_id},
                                                shipment_ids={found.shipment_id})
        parcel = next((p for p in parcels if p.pk == found.pk), None)
        if parcel is None:
            raise HandoverError(f"{tracking_number} was canceled with its order: keep the parcel in the store.")
        _check_parcel(parcel, jobs, facility)
        return _parcels_hand_over(facility=facility, to_hand_over=[parcel], lines=lines, jobs=jobs, parcels=parcels,
                                  shipments=shipments, actor=actor, now=now)


def handover_all(*, facility: Facility, carrier: str, actor, now: datetime | None = None) -> HandoverResult:
    """Hand over every parcel waiting for this carrier at the facility, in one transaction."""
    now = now or timezone.now()
    with transaction.atomic():
        waiting = list(_waiting(facility.pk).filter(carrier=carrier).values_list("shipment_id", "shipment__order_id")
                       .distinct())
        if not waiting:
            raise HandoverError(f"No parcels are waiting for {carrier_name(carrier)}.")
        lines, jobs, parcels, shipments = _lock(order_ids={order_id for _, order_id in waiting},
                                                shipment_ids={shipment_id for shipment_id, _ in waiting})
        ready = [parcel for parcel in parcels if parcel.status == ParcelStatus.LABELED
                 and parcel.carrier == carrier and parcel.shipment_id in jobs]
        if not ready:
            raise HandoverError(f"No parcels are waiting for {carrier_name(carrier)} any more — reload.", status=409)
        return _parcels_hand_over(facility=facility, to_hand_over=ready, lines=lines, jobs=jobs, parcels=parcels,
                                  shipments=shipments, actor=actor, now=now)


# --- the manifest --------------------------------------------------------------------------------

def carrier_manifest(*, facility: Facility, carrier: str, now: datetime | None = None) -> documents.ManifestData:
    """What the driver signs for: the carrier's parcels handed over today (local day) and those still waiting."""
    now = now or timezone.now()
    start, end = _today(facility, now)
    today = Parcel.objects.filter(status=ParcelStatus.HANDED_OVER, shipment__facility_id=facility.pk,
                                  carrier=carrier, handed_over_at__gte=start, handed_over_at__lt=end)
    waiting = _waiting(facility.pk).filter(carrier=carrier)
    rows = [
        documents.ManifestRow(tracking_number=parcel.tracking_number, order_name=parcel.shipment.order.name,
                              weight_grams=parcel.weight_grams,
                              service_name=_service_name(carrier, parcel.shipment.service))
        for parcel in (today | waiting).select_related("shipment__order").distinct().order_by("pk")
    ]
    forms = ScanForm.objects.filter(facility=facility, carrier=carrier, created_at__gte=start, created_at__lt=end)
    return documents.ManifestData(
        facility_name=facility.name, facility_address=facility_address(facility), carrier_name=carrier_name(carrier),
        printed_at=now.astimezone(facility.tz), rows=rows,
        scan_forms=tuple(forms.order_by("created_at", "pk").values_list("carrier_form_id", flat=True)),
    )


@dataclass
class ScanFormResult:
    scan_form: ScanForm

    @property
    def message(self) -> str:
        count = len(self.scan_form.tracking_numbers)
        return (f"Scan form {self.scan_form.carrier_form_id} for {count} parcel{'s' if count != 1 else ''}: "
                "print the manifest for the driver.")


def carrier_scan_form_create(*, facility: Facility, carrier: str, actor, now: datetime | None = None
                             ) -> ScanFormResult:
    """End of day: the carrier's scan form of today's parcels handed to it that no scan form lists yet.

    Locks the facility row, so two taps never ask the carrier for two forms of the same parcels.
    """
    now = now or timezone.now()
    try:
        adapter = carrier_get(carrier)
    except CarrierError as exc:
        raise HandoverError(str(exc), status=404) from exc
    if not adapter.has_scan_forms:
        raise HandoverError(f"{adapter.name} has no scan forms: the driver signs the manifest.")
    with transaction.atomic():
        Facility.objects.select_for_update().filter(pk=facility.pk).first()
        start, end = _today(facility, now)
        listed = {number for numbers in ScanForm.objects.filter(facility=facility, carrier=carrier,
                                                                created_at__gte=start, created_at__lt=end)
                  .values_list("tracking_numbers", flat=True) for number in numbers}
        parcels = [parcel for parcel in Parcel.objects.filter(
            status=ParcelStatus.HANDED_OVER, shipment__facility_id=facility.pk, carrier=carrier,
            handed_over_at__gte=start, handed_over_at__lt=end).order_by("pk")
            if parcel.tracking_number not in listed and parcel.carrier_state.get("label", {}).get("shipment_id")]
        if not parcels:
            raise HandoverError(f"Every parcel handed to {adapter.name} today is on a scan form already.", status=409)
        try:
            form = adapter.scan_form_create(shipment_ids=[parcel.carrier_state["label"]["shipment_id"]
                                                          for parcel in parcels])
        except CarrierError as exc:
            raise HandoverError(f"{adapter.name} made no scan form: {exc}") from exc
        scan_form = ScanForm.objects.create(
            facility=facility, carrier=carrier, carrier_form_id=form["id"][:80], form_url=form.get("form_url", ""),
            tracking_numbers=[parcel.tracking_number for parcel in parcels], created_by=actor, created_at=now)
    return ScanFormResult(scan_form=scan_form)


def carrier_manifest_pdf(*, facility: Facility, carrier: str, now: datetime | None = None) -> bytes:
    return documents.carrier_manifest_pdf(carrier_manifest(facility=facility, carrier=carrier, now=now))
