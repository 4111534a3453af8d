"""Tracking: what the carrier says happened to a parcel after the handover (EasyPost's tracker webhooks).

Each scan is stored once (TrackingEvent, unique per parcel and scan), so a webhook the carrier repeats — or two
deliveries of it at once — changes nothing the second time. A new scan the shop shows its customer becomes a
"fulfillment-event" message in the outbox; a parcel delivered marks it delivered, and a shipment whose every
parcel is delivered becomes DELIVERED. Scans arriving out of order never move a parcel's status back.
"""

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from fulfillment.models import Parcel, Shipment, TrackingEvent
from oms.core.history import record, transit
from oms.core.shop_messages import shop_fulfillment_event

DELIVERED = "delivered"
NOT_A_CARRIER_SCAN = ("", "pre_transit", "unknown")  # "label created" is not the carrier holding the parcel


@dataclass(frozen=True)
class Scan:
    at: datetime
    status: str
    message: str
    city: str = ""
    country: str = ""

    @property
    def key(self) -> str:
        return hashlib.sha256(f"{self.at.isoformat()}|{self.status}|{self.message}".encode()).hexdigest()[:32]

    @property
    def location(self) -> str:
        return ", ".join(part for part in (self.city, self.country) if part)


@dataclass
class TrackingResult:
    outcome: str  # "updated", "unchanged", "unknown parcel"
    new_scans: int = 0


def scans_from_easypost(tracker: dict) -> list[Scan]:
    """EasyPost's tracking_details as scans (a detail without a time or status is skipped)."""
    scans = []
    for detail in tracker.get("tracking_details") or []:
        at = parse_datetime(str(detail.get("datetime") or ""))
        status = str(detail.get("status") or "")
        if at is None or not status:
            continue
        if timezone.is_naive(at):
            at = timezone.make_aware(at, UTC)
        location = detail.get("tracking_location") or {}
        scans.append(Scan(at=at, status=status[:24], message=str(detail.get("message") or "")[:300],
                          city=str(location.get("city") or "")[:100], country=str(location.get("country") or "")[:50]))
    return scans


def parcel_tracking_update(*, tracking_number: str, scans: list[Scan], now: datetime | None = None) -> TrackingResult:
    """Apply the carrier's scans of one parcel. Locks the parcel, then (when delivered) its shipment."""
    now = now or timezone.now()
    with transaction.atomic():
        parcel = (Parcel.objects.select_for_update().select_related("shipment__order")
                  .filter(tracking_number=tracking_number).first())
        if parcel is None:
            return TrackingResult(outcome="unknown parcel")
        known = set(TrackingEvent.objects.filter(parcel=parcel).values_list("key", flat=True))
        new = sorted({scan.key: scan for scan in scans if scan.key not in known}.values(), key=lambda scan: scan.at)
        if not new:
            return TrackingResult(outcome="unchanged")
        TrackingEvent.objects.bulk_create([
            TrackingEvent(parcel=parcel, key=scan.key, at=scan.at, status=scan.status, message=scan.message,
                          location=scan.location, received_at=now) for scan in new
        ])
        order = parcel.shipment.order
        for scan in new:
            shop_fulfillment_event(order=order, tracking_number=parcel.tracking_number, event_key=scan.key,
                                   status=scan.status, happened_at=scan.at, message=scan.message, city=scan.city,
                                   country=scan.country, now=now)
        latest = new[-1]
        if parcel.tracking_updated_at is None or latest.at >= parcel.tracking_updated_at:
            parcel.tracking_status, parcel.tracking_updated_at = latest.status, latest.at
        delivered = next((scan for scan in new if scan.status == DELIVERED), None)
        if delivered and parcel.delivered_at is None:
            parcel.delivered_at = delivered.at
        parcel.save(update_fields=["tracking_status", "tracking_updated_at", "delivered_at"])
        if delivered:
            _shipment_deliver_if_done(parcel.shipment, now=now)
    return TrackingResult(outcome="updated", new_scans=len(new))


def _shipment_deliver_if_done(shipment: Shipment, *, now: datetime) -> None:
    shipment = Shipment.objects.select_for_update().get(pk=shipment.pk)
    if shipment.status != Shipment.Status.SHIPPED:
        return
    live = shipment.parcels.exclude(status=Parcel.Status.CANCELED)
    if live.filter(delivered_at__isnull=True).exists():
        return
    entry = transit(shipment, "deliver", reason="the carrier delivered every parcel", at=now)
    shipment.delivered_at = max(live.values_list("delivered_at", flat=True))
    shipment.save(update_fields=["status", "delivered_at"])
    record([entry])


def parcels_without_scan(*, now: datetime, hours: float) -> QuerySet[Parcel]:
    """Parcels handed to a carrier more than `hours` ago that the carrier has not scanned since: lost at the
    counter, never collected, or a tracker that never started. Oldest first."""
    return (Parcel.objects.filter(status=Parcel.Status.HANDED_OVER, handed_over_at__lt=now - timedelta(hours=hours),
                                  tracking_status__in=NOT_A_CARRIER_SCAN)
            .select_related("shipment__order", "shipment__facility").order_by("handed_over_at", "pk"))
