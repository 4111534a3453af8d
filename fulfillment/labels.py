"""Labels of a shipment's parcels: buying one from the shipment's carrier, voiding and re-buying it, the
return label, and the PDFs printed from them with the packing slip.

Every action locks through `packing.packing_lock` like the other packing actions (the check/do split, the version
the associate saw); carrier adapters are called inside the transaction with the rows locked, so a carrier
refusal rolls everything back."""

from datetime import date, datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from fulfillment import documents
from fulfillment.carriers import carrier_default, carrier_get
from fulfillment.carriers.base import Address, Carrier, CarrierError, LabelRequest, LabelResult, ParcelSpec, Rate
from fulfillment.models import BoxType, Parcel, ParcelItem, Shipment
from fulfillment.packing import (
    LABELLED,
    LIVE_PARCEL,
    JobStatus,
    PackError,
    Packing,
    ParcelStatus,
    ShipmentStatus,
    check_not_shipped,
    check_packing,
    pack_job_touch,
    packing_lock,
    packing_read,
    parcel_default_weight,
    parcel_set_box,
    shipment_sync,
)
from fulfillment.printing import RAW_PORT, label_print_raw
from oms.core.history import record, transit
from oms.models import Order, TransitionLog
from stores.models import Facility

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


def _service(packing: Packing, carrier: Carrier) -> str:
    """The shipment's service once chosen, else the store's setting when this carrier knows it, else the
    carrier's default (its first service)."""
    setting = packing.job.facility.label_service
    if packing.shipment.service:
        return packing.shipment.service
    return setting if setting and carrier.service_accepts(setting) else carrier.services[0][0]


def _label_request(packing: Packing, parcel: Parcel, *, service: str, carrier_state: dict | None = None,
                   ) -> LabelRequest:
    order = packing.job.order
    recipient = order_ship_to(order)
    if not (recipient.address1 and recipient.city and recipient.country):
        raise PackError(f"Order {order.name} has no complete shipping address: ask the office to fix it.")
    box = parcel.box_type
    return LabelRequest(
        sender=facility_address(packing.job.facility), recipient=recipient, service=service, reference=order.name,
        parcel=ParcelSpec(weight_grams=parcel.weight_grams, length_mm=box.length_mm, width_mm=box.width_mm,
                          height_mm=box.height_mm),
        label_format=packing.job.facility.label_format or "PDF", carrier_state=carrier_state or {},
    )


def _label_checks(packing: Packing, parcel: Parcel) -> None:
    number = packing.number(parcel)
    if packing.is_empty(parcel):
        raise PackError(f"Parcel {number} is empty: move items into it or remove it.")
    if parcel.box_type_id is None:
        raise PackError(f"Parcel {number}: choose its box first.")
    if parcel.weight_grams <= 0:
        raise PackError(f"Parcel {number}: enter its weight first.")


def _label_prepare(*, pack_job_id: int, facility_id: int, parcel_id: int, version: int | None, slot: str) -> None:
    """Step 1 of buying a label, committed on its own: the carrier prepares the purchase (EasyPost creates its
    shipment) and the parcel keeps what finds it again (`carrier_state[slot]`: "label", or "replacement" while
    the old label is still valid). Step 2 reads it back before buying, so a purchase retried after a timeout,
    a crash or a double tap never buys a second label. Touches no version: the tap goes on to step 2. A carrier
    that prepares nothing (the built-in one) costs no step 1: the shipment's carrier is read unlocked first."""
    code = Shipment.objects.filter(pack_job__pk=pack_job_id, facility_id=facility_id).values_list(
        "carrier", flat=True).first()
    try:
        if code is not None and not (carrier_get(code) if code else carrier_default()).prepares_labels:
            return
    except CarrierError:
        return  # step 2 says so
    with transaction.atomic():
        packing = packing_lock(pack_job_id=pack_job_id, facility_id=facility_id, version=version)
        check_packing(packing.job, closed_ok=True)
        check_not_shipped(packing.shipment)
        parcel = packing.parcel(parcel_id)
        if (slot == "label") != (parcel.status == ParcelStatus.OPEN):
            return  # step 2 says what is wrong
        _label_checks(packing, parcel)
        carrier = _carrier_of(packing.shipment)
        request = _label_request(packing, parcel, service=_service(packing, carrier),
                                 carrier_state=parcel.carrier_state.get(slot, {}))
        try:
            state = carrier.label_prepare(request)
        except CarrierError as exc:
            raise PackError(f"{carrier.name} refused the label: {exc}") from exc
        if state and parcel.carrier_state.get(slot) != state:
            parcel.carrier_state = {**parcel.carrier_state, slot: state}
            parcel.save(update_fields=["carrier_state"])


def _label_create(packing: Packing, parcel: Parcel, *, actor, now: datetime, slot: str = "label") -> TransitionLog:
    """do: buy the label prepared in `slot` (or ask the carrier for one) and keep it on the parcel (→ LABELED)."""
    _label_checks(packing, parcel)
    shipment = packing.shipment
    carrier = _carrier_of(shipment)
    service = _service(packing, carrier)
    prepared = parcel.carrier_state.get(slot, {})
    try:
        result: LabelResult = carrier.create_label(_label_request(packing, parcel, service=service,
                                                                  carrier_state=prepared))
    except CarrierError as exc:
        raise PackError(f"{carrier.name} refused the label: {exc}") from exc
    if Parcel.objects.filter(tracking_number=result.tracking_number).exclude(pk=parcel.pk).exists():
        raise PackError(f"{carrier.name} returned the tracking number {result.tracking_number} a second time.")
    entry = transit(parcel, "label", actor=actor, reason=f"{carrier.name} {result.tracking_number}", at=now,
                    order_id=shipment.order_id)
    parcel.carrier = carrier.code
    parcel.tracking_number = result.tracking_number
    parcel.tracking_url = result.tracking_url
    parcel.label_pdf = result.label_pdf
    parcel.label_zpl = result.label_zpl
    parcel.carrier_state = {"label": {**prepared, **result.extra}} if (prepared or result.extra) else {}
    parcel.refund_status = ""
    parcel.labeled_at = now
    parcel.save(update_fields=["status", "carrier", "tracking_number", "tracking_url", "label_pdf", "label_zpl",
                               "carrier_state", "refund_status", "labeled_at"])
    if not shipment.carrier:
        shipment.carrier, shipment.service = carrier.code, result.service or service
        shipment.save(update_fields=["carrier", "service"])
    return entry


def _carrier_void(code: str, tracking_number: str, state: dict | None = None) -> str:
    """Void the label at its carrier; returns the carrier's word on the refund ("voided", "submitted", …)."""
    try:
        return carrier_get(code).void_label(tracking_number, carrier_state=state or {}) or ""
    except CarrierError as exc:
        raise PackError(f"The label {tracking_number} could not be voided: {exc}") from exc


def _label_void(
    packing: Packing, parcel: Parcel, *, actor, now: datetime, reason: str, at_carrier: bool = True
) -> TransitionLog:
    """do: void the label (at its carrier too unless the caller does that later) and keep the old number.

    LABELED → OPEN; the number moves to `voided_tracking_numbers`, so a scan of it is recognised.
    """
    if at_carrier:
        parcel.refund_status = _carrier_void(parcel.carrier, parcel.tracking_number,
                                             parcel.carrier_state.get("label"))[:20]
    entry = transit(parcel, "void_label", actor=actor, reason=f"{reason}: {parcel.tracking_number}", at=now,
                    order_id=packing.shipment.order_id)
    parcel.voided_tracking_numbers = [*parcel.voided_tracking_numbers, parcel.tracking_number]
    parcel.tracking_number = ""
    parcel.tracking_url = ""
    parcel.label_pdf = None
    parcel.label_zpl = None
    parcel.carrier_state = {key: value for key, value in parcel.carrier_state.items() if key != "label"}
    parcel.labeled_at = None
    parcel.save(update_fields=["status", "voided_tracking_numbers", "tracking_number", "tracking_url",
                               "label_pdf", "label_zpl", "carrier_state", "refund_status", "labeled_at"])
    return entry


def parcel_create_label(
    *, pack_job_id: int, facility_id: int, parcel_id: int, actor, version: int | None,
    now: datetime | None = None,
) -> Parcel:
    """Label an open parcel with the shipment's carrier (the default carrier for the first parcel).

    When every non-empty parcel is labelled the shipment becomes READY. Buys in two steps (`_label_prepare`).
    """
    now = now or timezone.now()
    _label_prepare(pack_job_id=pack_job_id, facility_id=facility_id, parcel_id=parcel_id, version=version,
                   slot="label")
    with transaction.atomic():
        packing = packing_lock(pack_job_id=pack_job_id, facility_id=facility_id, version=version)
        check_packing(packing.job, closed_ok=True)
        check_not_shipped(packing.shipment)
        parcel = packing.parcel(parcel_id)
        if parcel.status != ParcelStatus.OPEN:
            raise PackError(f"Parcel {packing.number(parcel)} is already labelled ({parcel.tracking_number}).")
        entries = [_label_create(packing, parcel, actor=actor, now=now)]
        entries += shipment_sync(packing, actor=actor, now=now, reason="every parcel labelled")
        pack_job_touch(packing.job, actor)
        record(entries)
    return parcel


def parcel_rates(*, pack_job_id: int, facility_id: int, parcel_id: int, box_type_id: int | None,
                 weight_grams: int | None) -> list[Rate]:
    """The rates the shipment's carrier offers for this parcel in this box at this weight, cheapest first (a read:
    nothing of ours is written; EasyPost makes a shipment to rate it, which costs nothing until bought)."""
    packing = packing_read(pack_job_id=pack_job_id, facility_id=facility_id)
    parcel = packing.parcel(parcel_id)
    if parcel.status != ParcelStatus.OPEN:
        raise PackError(f"Parcel {packing.number(parcel)} is labelled already.")
    box = BoxType.objects.filter(pk=box_type_id, is_active=True).first() if box_type_id else parcel.box_type
    if box is None:
        raise PackError("Choose a box first: the rate depends on its size.")
    weight = weight_grams or parcel_default_weight(content_grams=packing.content_weight(parcel), box_type=box)
    carrier = _carrier_of(packing.shipment)
    parcel.box_type, parcel.weight_grams = box, weight  # as on the form; this read saves nothing
    request = _label_request(packing, parcel, service=_service(packing, carrier))
    try:
        return sorted(carrier.rate(request), key=lambda rate: Decimal(rate.amount))
    except CarrierError as exc:
        raise PackError(f"{carrier.name} gave no rates: {exc}") from exc


def shipment_choose_service(*, pack_job_id: int, facility_id: int, service: str, actor, version: int | None
                            ) -> Shipment:
    """The associate picks the rate the shipment's labels are bought at (before any of them is)."""
    with transaction.atomic():
        packing = packing_lock(pack_job_id=pack_job_id, facility_id=facility_id, version=version)
        check_packing(packing.job)
        shipment = packing.shipment
        if any(parcel.status != ParcelStatus.OPEN for parcel in packing.parcels):
            raise PackError("A parcel is labelled already: its rate is bought. Void its label to choose another.")
        carrier = _carrier_of(shipment)
        if not carrier.service_accepts(service):
            raise PackError(f"{carrier.name} has no rate {service!r}: choose one of the rates listed.")
        shipment.service = service
        shipment.save(update_fields=["service"])
        pack_job_touch(packing.job, actor)
    return shipment


def parcel_box_and_label(
    *, pack_job_id: int, facility_id: int, parcel_id: int, box_type_id: int, weight_grams: int | None, actor,
    version: int | None, now: datetime | None = None,
) -> Parcel:
    """The box and the label in one tap: the box (and weight) is saved, then the label bought in its two steps.

    A refused box saves nothing. A refused label leaves the box chosen, so the next tap only buys the label:
    a carrier's purchase must be prepared and committed before it is bought (`_label_prepare`), which one
    transaction around both could not do.
    """
    parcel_set_box(pack_job_id=pack_job_id, facility_id=facility_id, parcel_id=parcel_id, box_type_id=box_type_id,
                   weight_grams=weight_grams, actor=actor, version=version)
    # The box moved the job on by one version: the label checks that nobody else changed it meanwhile.
    return parcel_create_label(pack_job_id=pack_job_id, facility_id=facility_id, parcel_id=parcel_id, actor=actor,
                               version=None if version is None else version + 1, now=now)


def parcel_void_label(
    *, pack_job_id: int, facility_id: int, parcel_id: int, actor, version: int | None,
    now: datetime | None = None,
) -> Parcel:
    """Void a parcel's label while packing (LABELED → OPEN); the shipment is no longer READY."""
    now = now or timezone.now()
    with transaction.atomic():
        packing = packing_lock(pack_job_id=pack_job_id, facility_id=facility_id, version=version)
        if packing.job.status == JobStatus.CLOSED:
            raise PackError("This pack job is closed: use “Void and print a new label” instead.")
        check_packing(packing.job)
        parcel = packing.parcel(parcel_id)
        if parcel.status != ParcelStatus.LABELED:
            raise PackError(f"Parcel {packing.number(parcel)} has no label to void.")
        entries = [_label_void(packing, parcel, actor=actor, now=now, reason="label voided")]
        entries += shipment_sync(packing, actor=actor, now=now, reason="a label was voided")
        pack_job_touch(packing.job, actor)
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
    _label_prepare(pack_job_id=pack_job_id, facility_id=facility_id, parcel_id=parcel_id, version=version,
                   slot="replacement")
    with transaction.atomic():
        packing = packing_lock(pack_job_id=pack_job_id, facility_id=facility_id, version=version)
        check_packing(packing.job, closed_ok=True)
        check_not_shipped(packing.shipment)
        parcel = packing.parcel(parcel_id)
        if parcel.status != ParcelStatus.LABELED:
            raise PackError(f"Parcel {packing.number(parcel)} has no label to replace.")
        old_carrier, old_number = parcel.carrier, parcel.tracking_number
        old_state, replacement = parcel.carrier_state.get("label"), parcel.carrier_state.get("replacement", {})
        entries = [_label_void(packing, parcel, actor=actor, now=now, reason="label replaced", at_carrier=False)]
        parcel.carrier_state = {"replacement": replacement} if replacement else {}
        entries.append(_label_create(packing, parcel, actor=actor, now=now, slot="replacement"))
        parcel.refund_status = _carrier_void(old_carrier, old_number, old_state)[:20]
        parcel.save(update_fields=["refund_status"])
        pack_job_touch(packing.job, actor)
        record(entries)
    return parcel


def shipment_issue_return_label(
    *, pack_job_id: int, facility_id: int, actor, version: int | None, now: datetime | None = None,
) -> Shipment:
    """Issue the shipment's return tracking number (customer → store) through its carrier, once."""
    with transaction.atomic():
        packing = packing_lock(pack_job_id=pack_job_id, facility_id=facility_id, version=version)
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
        outbound = _label_request(packing, heaviest, service=_service(packing, carrier))
        request = LabelRequest(sender=outbound.recipient, recipient=outbound.sender, parcel=outbound.parcel,
                               service=outbound.service, reference=outbound.reference, is_return=True)
        try:
            result = carrier.create_label(request)
        except CarrierError as exc:
            raise PackError(f"{carrier.name} refused the return label: {exc}") from exc
        shipment.return_tracking_number = result.tracking_number
        shipment.save(update_fields=["return_tracking_number"])
        pack_job_touch(packing.job, actor)
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


def _label_data(parcel: Parcel) -> documents.LabelData:
    if parcel.status not in LABELLED or not parcel.tracking_number:
        raise PackError("This parcel has no label: create one first.", status=404)
    shipment = Shipment.objects.select_related("order", "facility").get(pk=parcel.shipment_id)
    siblings = list(Parcel.objects.filter(shipment=shipment, status__in=LIVE_PARCEL).order_by("pk")
                    .values_list("pk", flat=True))
    carrier_name, service_name = _carrier_names(parcel.carrier, shipment.service)
    return documents.LabelData(
        sender=facility_address(shipment.facility), recipient=order_ship_to(shipment.order),
        carrier_name=carrier_name, service_name=service_name, weight_grams=parcel.weight_grams,
        tracking_number=parcel.tracking_number, reference=shipment.order.name,
        parcel_index=siblings.index(parcel.pk) + 1 if parcel.pk in siblings else 1,
        parcel_count=len(siblings) or 1, shipped_on=_local_date(parcel.labeled_at, shipment.facility),
    )


def parcel_label_pdf(*, parcel: Parcel) -> bytes:
    """The parcel's 4×6 in label: the carrier's own PDF when it sent one, otherwise drawn by Storefill."""
    if parcel.label_pdf and parcel.status in LABELLED:
        return bytes(parcel.label_pdf)
    return documents.shipping_label_pdf(_label_data(parcel))


def parcel_label_zpl(*, parcel: Parcel) -> bytes:
    """The parcel's label for a thermal printer: the carrier's own ZPL when it sent one, otherwise drawn."""
    if parcel.label_zpl and parcel.status in LABELLED:
        return bytes(parcel.label_zpl)
    return documents.shipping_label_zpl(_label_data(parcel))


def parcel_label_print(*, pack_job_id: int, facility_id: int, parcel_id: int) -> Parcel:
    """Send the parcel's ZPL label to the facility's network printer (settings: label printer, host[:port]).
    Raises PrinterError in the associate's words when none is set up or it does not take the label; the label
    stays downloadable. A read: nothing is written."""
    parcel = (Parcel.objects.filter(pk=parcel_id, shipment__pack_job__pk=pack_job_id,
                                    shipment__facility_id=facility_id).select_related("shipment__facility").first())
    if parcel is None:
        raise PackError("No such parcel.", status=404)
    host, _, port = parcel.shipment.facility.label_printer.partition(":")
    label_print_raw(host=host, port=int(port or RAW_PORT), data=parcel_label_zpl(parcel=parcel))
    return parcel


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
