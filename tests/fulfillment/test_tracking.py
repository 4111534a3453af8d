"""Carrier scans after the handover: EasyPost's tracker webhooks (signed, repeated), the parcel's status and
events, the shipment delivered, the shop told through the outbox (Shopify fulfillmentEventCreate), and the
parcels no carrier has scanned."""

import hashlib
import hmac
import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from fulfillment.models import Parcel, Shipment, TrackingEvent
from fulfillment.tracking import parcels_without_scan
from oms.models import OutboxMessage, TransitionLog
from oms.outbox.dispatch import outbox_dispatch
from tests.shopify_world import shipped_order, shopify_configured, shopify_store

pytestmark = pytest.mark.django_db

SECRET = "easypost-webhook-secret"
URL = "/webhooks/easypost/tracker"


@pytest.fixture(autouse=True)
def webhook_secret(settings):
    settings.EASYPOST_WEBHOOK_SECRET = SECRET


def tracker(tracking_code: str, *details: tuple[str, str, str]) -> dict:
    return {"id": "trk_1", "object": "Tracker", "tracking_code": tracking_code, "status": details[-1][1],
            "tracking_details": [{"object": "TrackingDetail", "datetime": at, "status": status, "message": message,
                                  "tracking_location": {"city": "Chicago", "country": "US"}}
                                 for at, status, message in details]}


def post(event: dict, *, secret: str = SECRET, description: str = "tracker.updated"):
    body = json.dumps({"id": "evt_1", "object": "Event", "description": description, "result": event}).encode()
    signature = "hmac-sha256-hex=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return Client().post(URL, data=body, content_type="application/json", headers={"X-Hmac-Signature": signature})


IN_TRANSIT = ("2026-12-08T15:00:00Z", "in_transit", "Departed the facility")
OUT = ("2026-12-09T08:00:00Z", "out_for_delivery", "Out for delivery")
DELIVERED = ("2026-12-09T12:30:00Z", "delivered", "Delivered, front door")


@pytest.fixture
def shopify(settings):
    fake = shopify_configured(settings)
    yield fake
    fake.stop()


@pytest.fixture
def parcel(shopify):
    order = shipped_order(shopify_store(), shopify)
    outbox_dispatch()  # the fulfillment reaches the fake Shopify first
    return Parcel.objects.get(shipment__order=order)


def test_scans_update_the_parcel_and_tell_the_shop_each_once(parcel, shopify):
    assert post(tracker(parcel.tracking_number, IN_TRANSIT)).json() == {"outcome": "updated", "new_scans": 1}
    again = post(tracker(parcel.tracking_number, IN_TRANSIT, OUT))  # EasyPost sends the whole history each time
    assert again.json() == {"outcome": "updated", "new_scans": 1}
    assert post(tracker(parcel.tracking_number, IN_TRANSIT, OUT)).json()["outcome"] == "unchanged"
    parcel.refresh_from_db()
    assert parcel.tracking_status == "out_for_delivery"
    assert list(TrackingEvent.objects.filter(parcel=parcel).values_list("status", flat=True)) == [
        "in_transit", "out_for_delivery"]
    events = OutboxMessage.objects.filter(kind="fulfillment-event").order_by("pk")
    assert [message.payload["status"] for message in events] == ["IN_TRANSIT", "OUT_FOR_DELIVERY"]

    assert outbox_dispatch().delivered == 2
    [fulfillment] = shopify.orders[parcel.shipment.order.external_id].fulfillments
    assert [(event["status"], event["happenedAt"]) for event in fulfillment["events"]] == [
        ("IN_TRANSIT", "2026-12-08T15:00:00+00:00"), ("OUT_FOR_DELIVERY", "2026-12-09T08:00:00+00:00")]


def test_a_scan_sent_to_the_shop_twice_is_added_once(parcel, shopify):
    post(tracker(parcel.tracking_number, IN_TRANSIT))
    outbox_dispatch()
    message = OutboxMessage.objects.get(kind="fulfillment-event")
    OutboxMessage.objects.filter(pk=message.pk).update(status=OutboxMessage.Status.PENDING, due_at=timezone.now())
    assert outbox_dispatch().delivered == 1
    [fulfillment] = shopify.orders[parcel.shipment.order.external_id].fulfillments
    assert len(fulfillment["events"]) == 1


def test_delivery_of_every_parcel_delivers_the_shipment(parcel):
    post(tracker(parcel.tracking_number, IN_TRANSIT, OUT, DELIVERED))
    parcel.refresh_from_db()
    shipment = Shipment.objects.get(pk=parcel.shipment_id)
    assert parcel.delivered_at.isoformat() == "2026-12-09T12:30:00+00:00"
    assert shipment.status == Shipment.Status.DELIVERED and shipment.delivered_at == parcel.delivered_at
    assert TransitionLog.objects.filter(object_type="shipment", object_id=shipment.pk, transition="deliver").exists()


def test_late_scans_never_move_the_status_back(parcel):
    post(tracker(parcel.tracking_number, DELIVERED))
    post(tracker(parcel.tracking_number, IN_TRANSIT))  # an older scan arriving late
    parcel.refresh_from_db()
    assert parcel.tracking_status == "delivered"


def test_a_wrong_signature_is_refused_with_nothing_written(parcel):
    response = post(tracker(parcel.tracking_number, IN_TRANSIT), secret="not-the-secret")
    assert response.status_code == 401
    assert not TrackingEvent.objects.exists()


def test_an_unsigned_delivery_is_refused(parcel):
    body = json.dumps({"description": "tracker.updated", "result": tracker(parcel.tracking_number, IN_TRANSIT)})
    assert Client().post(URL, data=body, content_type="application/json").status_code == 401


def test_trackers_of_other_parcels_and_other_events_are_ignored(parcel):
    assert post(tracker("NOT-OURS-1", IN_TRANSIT)).json()["outcome"] == "unknown parcel"
    assert post({"id": "batch_1"}, description="batch.updated").json() == {"outcome": "ignored"}
    assert not TrackingEvent.objects.exists()


def test_a_parcel_no_carrier_scanned_is_listed_after_the_hours_given(parcel):
    Parcel.objects.filter(pk=parcel.pk).update(handed_over_at=timezone.now() - timedelta(hours=30))
    assert list(parcels_without_scan(now=timezone.now(), hours=24)) == [parcel]
    post(tracker(parcel.tracking_number, ("2026-12-08T09:00:00Z", "pre_transit", "Label created")))
    assert list(parcels_without_scan(now=timezone.now(), hours=24)) == [parcel]  # "label created" is no carrier scan
    post(tracker(parcel.tracking_number, IN_TRANSIT))
    assert list(parcels_without_scan(now=timezone.now(), hours=24)) == []


def test_the_console_lists_the_parcels_no_carrier_scanned(parcel, client, settings):
    from stores.access import operations_group
    from tests.factories import UserFactory

    settings.TRACKING_STALE_HOURS = 24
    ops = UserFactory(username="tracking-ops")
    ops.groups.add(operations_group())
    client.force_login(ops)
    assert parcel.tracking_number not in client.get("/console/tracking/").content.decode()  # handed over just now
    Parcel.objects.filter(pk=parcel.pk).update(handed_over_at=timezone.now() - timedelta(hours=30))
    page = client.get("/console/tracking/").content.decode()
    assert parcel.tracking_number in page and parcel.shipment.order.name in page
    post(tracker(parcel.tracking_number, IN_TRANSIT))
    assert parcel.tracking_number not in client.get("/console/tracking/").content.decode()
