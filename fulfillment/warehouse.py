"""Shipments a WMS warehouse reports as sent: the Shipment and its Parcel recorded as shipped, the lines handed over.

A warehouse packs and labels in its own system, so nothing here goes through pick, pack or the tablet's
handover scan: the shipment is created and moved OPEN → READY → SHIPPED and its parcel OPEN → LABELED →
HANDED_OVER at once (every transition logged, at the time the warehouse gives). From there the units leave as a
store's do (`fulfillment.departure.units_leave`): the shop's `fulfillment` message first, then the stock consumed,
the lines fulfilled, the request completed and the order settled — so `fulfillment` always precedes
`order-completed`. Unlike a store's, a warehouse's shipment writes no `erp-fulfilled` record.
"""

from dataclasses import dataclass
from datetime import datetime

from fulfillment.carriers import carrier_get
from fulfillment.carriers.base import CarrierError
from fulfillment.departure import units_leave
from fulfillment.handover import carrier_name, fulfillment_payload
from fulfillment.models import Parcel, ParcelItem, Shipment
from oms.core.history import record, transit
from oms.core.lines import order_line_split
from oms.models import FulfillmentRequest, Order, OrderLine
from stores.models import Facility


def tracking_url_for(*, carrier: str, tracking_number: str) -> str:
    """The carrier adapter's tracking page when the deployment has that carrier, else none."""
    try:
        return carrier_get(carrier).tracking_url(tracking_number)
    except (CarrierError, NotImplementedError):
        return ""


@dataclass(frozen=True)
class ShippedParcel:
    """A parcel already recorded under a tracking number: whose it is and which lines (and their splits) it holds."""

    order_id: int
    facility_id: int
    shipment_id: int
    line_ids: frozenset[int]  # the order lines packed, and the lines they were split from


def parcel_shipped_get(*, tracking_number: str) -> ShippedParcel | None:
    """The parcel with this tracking number, if any (a tracking number is unique across parcels)."""
    parcel = Parcel.objects.filter(tracking_number=tracking_number).select_related("shipment").first()
    if parcel is None:
        return None
    line_ids = set()
    for line_id, parent_id in ParcelItem.objects.filter(parcel=parcel).values_list(
            "order_line_id", "order_line__parent_id"):
        line_ids.add(line_id)
        if parent_id:
            line_ids.add(parent_id)
    return ShippedParcel(order_id=parcel.shipment.order_id, facility_id=parcel.shipment.facility_id,
                         shipment_id=parcel.shipment_id, line_ids=frozenset(line_ids))


def warehouse_shipment_ship(
    *, order: Order, facility: Facility, request: FulfillmentRequest, items: list[tuple[OrderLine, int]],
    carrier: str, service: str, tracking_number: str, tracking_url: str, shipped_at: datetime, actor, now: datetime,
    source: str,
) -> Shipment:
    """do: record what the warehouse shipped in one parcel and hand its lines over.

    `items` are (ALLOCATED line at `facility`, units shipped); fewer units than the line holds split it: the
    shipped units become a new line (same shop line id, pointing to its parent) that is fulfilled, the
    original keeps the rest, still allocated. Expects the caller to have checked the lines and to hold the
    order and its lines locked (in that order); locks the stock rows in primary-key order before consuming.
    """
    shipped: list[OrderLine] = []
    packed: dict[int, int] = {}
    for line, quantity in items:
        part = order_line_split(line, quantity) if quantity < line.quantity else line
        shipped.append(part)
        packed[part.pk] = quantity
    why = f"shipped by warehouse {facility.code}"
    shipment = Shipment.objects.create(order=order, facility=facility, fulfillment_request=request, carrier=carrier,
                                       service=service, created_at=now)
    entries = [transit(shipment, "mark_ready", actor=actor, reason=why, at=now),
               transit(shipment, "ship", actor=actor, reason=f"{why} with {carrier_name(carrier)}", at=now)]
    shipment.shipped_at = shipped_at
    shipment.save(update_fields=["status", "shipped_at"])
    parcel = Parcel.objects.create(shipment=shipment, carrier=carrier, tracking_number=tracking_number,
                                   tracking_url=tracking_url, created_at=now)
    entries += [transit(parcel, "label", actor=actor, reason=why, at=now, order_id=order.pk),
                transit(parcel, "hand_over", actor=actor, reason=why, at=now, order_id=order.pk)]
    parcel.labeled_at = parcel.handed_over_at = shipped_at
    parcel.save(update_fields=["status", "labeled_at", "handed_over_at"])
    ParcelItem.objects.bulk_create([ParcelItem(parcel=parcel, order_line=line, quantity=packed[line.pk])
                                    for line in shipped])
    entries += units_leave(
        order=order, facility=facility, items=[(line, packed[line.pk]) for line in shipped],
        departure=f"wms:{shipment.pk}",
        shop_payload=fulfillment_payload(shipment=shipment, parcels=[parcel], lines=shipped, packed=packed),
        erp=None,  # the ERP has the warehouse's own record of this shipment
        actor=actor, reason=f"{why} ({tracking_number})", source=source, now=now,
    )
    record(entries)
    return shipment
