"""Django admin: every page opens, setup data saves, stock and state stay read-only, manual approval works."""

import io
from datetime import timedelta

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from fulfillment.models import HandoverJob, PackJob, Parcel, PickJob, PickLine, Shipment
from oms.core.history import transit_and_save
from oms.feeds.inventory import inventory_feed_import
from oms.models import (
    BrokeringRun,
    FulfillmentRequest,
    LineRejection,
    Order,
    OutboxMessage,
    RejectionReason,
    ShopPull,
    TransitionLog,
)
from oms.outbox.messages import outbox_write
from oms.routing.load import rules_ensure_defaults
from stores.access import operations_group
from stores.models import StockLevel
from stores.stock import stock_adjust
from tests.factories import (
    FacilityFactory,
    MembershipFactory,
    OrderFactory,
    OrderLineFactory,
    ProductFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

REGISTERED = [
    "stores.facility", "stores.stocklevel", "stores.inventoryadjustment",
    "oms.product", "oms.order", "oms.fulfillmentrequest", "oms.outboxmessage", "oms.transitionlog",
    "fulfillment.pickjob", "fulfillment.packjob", "fulfillment.shipment", "fulfillment.parcel",
    "fulfillment.handoverjob", "fulfillment.boxtype", "fulfillment.shortpickreason",
    "oms.routingrule", "oms.brokeringrun", "oms.rejectionreason", "oms.linerejection", "oms.feedfile",
    "oms.shoppull",
]


@pytest.fixture
def records():
    """One record of every model the admin shows, linked the way the services link them."""
    now = timezone.now()
    facility = FacilityFactory()
    MembershipFactory(facility=facility)
    product = ProductFactory()
    with transaction.atomic():
        stock_adjust(facility_id=facility.pk, product_id=product.pk, delta=5, reason="RECEIPT", source="test")
    order = OrderFactory()
    line = OrderLineFactory(order=order, product=product)
    transit_and_save(order, "approve", reason="test", at=now)
    request = FulfillmentRequest.objects.create(order=order, facility=facility, number=f"{order.name}-1",
                                                created_at=now)
    with transaction.atomic():
        outbox_write(kind="test", destination=OutboxMessage.Destination.SHOP, idempotency_key=f"test:{order.pk}",
                     payload={}, order=order, now=now)
    pick_job = PickJob.objects.create(facility=facility, order=order, fulfillment_request=request, created_at=now,
                                      due_at=now + timedelta(hours=2))
    PickLine.objects.create(pick_job=pick_job, order_line=line, product=product, quantity=1)
    LineRejection.objects.create(order=order, order_line=line, facility=facility, product=product,
                                 reason=RejectionReason.objects.first(), reason_text="Damaged", quantity=1,
                                 created_at=now)
    PackJob.objects.create(facility=facility, order=order, pick_job=pick_job, created_at=now)
    shipment = Shipment.objects.create(order=order, facility=facility, fulfillment_request=request, created_at=now)
    Parcel.objects.create(shipment=shipment, created_at=now, tracking_number="1Z999")
    HandoverJob.objects.create(facility=facility, order=order, channel=HandoverJob.Channel.CARRIER, shipment=shipment,
                               created_at=now)
    inventory_feed_import(io.BytesIO(f"facility,sku,on_hand,counted_at\n{facility.code},NOPE,1,2026-01-01T00:00Z\n"
                                     .encode()), name="counts.csv", source="UPLOAD")
    ShopPull.objects.create(started_at=now, since=now, until=now, status=ShopPull.Status.OK, found=2, created=1)
    rules_ensure_defaults()
    BrokeringRun.objects.create(queue="BROKERING", status="SUCCEEDED", started_at=now, heartbeat_at=now,
                                finished_at=now)
    return {"order": order, "facility": facility, "product": product}


@pytest.mark.parametrize("label", REGISTERED)
def test_admin_list_search_and_detail_pages_open(admin_client, records, label):
    app_label, model_name = label.split(".")
    changelist = reverse(f"admin:{app_label}_{model_name}_changelist")

    listed = admin_client.get(changelist)
    searched = admin_client.get(changelist, {"q": "1"})
    assert (listed.status_code, searched.status_code) == (200, 200)
    obj = listed.context["cl"].result_list[0]
    assert admin_client.get(reverse(f"admin:{app_label}_{model_name}_change", args=[obj.pk])).status_code == 200


def test_facility_admin_saves_setup_data_with_a_membership(admin_client):
    facility = FacilityFactory(code="BER-01", daily_capacity=None)
    user = UserFactory()
    data = {
        "code": "BER-01", "name": "Berlin Mitte", "kind": "STORE", "is_active": "on", "country": "DE",
        "city": "Berlin", "time_zone": "Europe/Berlin", "opening_hours": '{"mon": ["09:00", "20:00"]}',
        "sells_online": "on", "offers_pickup": "on", "daily_capacity": "40", "priority": "7",
        "allow_partial_rejection": "on", "pickup_service_hours": "2", "pickup_reminder_hours": "48",
        "pickup_expiry_days": "7", "pickup_proof_required": "on", "reroute_after_hours": "24",
        "reroute_warning_minutes": "30", "processing_mode": "MANUAL",
        "memberships-TOTAL_FORMS": "1", "memberships-INITIAL_FORMS": "0",
        "memberships-0-user": str(user.pk), "memberships-0-role": "MANAGER",
    }

    response = admin_client.post(reverse("admin:stores_facility_change", args=[facility.pk]), data)

    assert response.status_code == 302, response.context["adminform"].errors if response.context else response
    facility.refresh_from_db()
    assert (facility.name, facility.daily_capacity, facility.offers_ship_from_store) == ("Berlin Mitte", 40, False)
    assert (facility.pickup_proof_required, facility.processing_mode) == (True, "MANUAL")
    assert list(facility.memberships.values_list("user", "role")) == [(user.pk, "MANAGER")]


def test_stock_level_admin_sets_safety_stock_and_bin_but_never_on_hand_or_reserved(admin_client, records):
    level = StockLevel.objects.get()
    data = {"bin_location": "A-01-3", "safety_stock": "2", "on_hand": "999", "reserved": "7"}

    response = admin_client.post(reverse("admin:stores_stocklevel_change", args=[level.pk]), data)

    assert response.status_code == 302
    level.refresh_from_db()
    assert (level.bin_location, level.safety_stock, level.on_hand, level.reserved) == ("A-01-3", 2, 5, 0)
    assert admin_client.get(reverse("admin:stores_stocklevel_add")).status_code == 403


def test_orders_and_their_state_cannot_be_edited_in_admin(admin_client, records):
    order = records["order"]

    response = admin_client.post(reverse("admin:oms_order_change", args=[order.pk]), {"status": "CANCELED"})

    assert response.status_code == 403
    order.refresh_from_db()
    assert order.status == Order.Status.APPROVED


# --- Manual approval action -----------------------------------------------------------------------

CHANGELIST = "admin:oms_order_changelist"


def held_order(**fields) -> Order:
    order = OrderFactory(tags=["HOLD"], **fields)
    OrderLineFactory(order=order)
    return order


def test_manual_approval_action_asks_for_a_reason_first(admin_client):
    order = held_order()

    response = admin_client.post(reverse(CHANGELIST), {"action": "approve_manually", "_selected_action": [order.pk]})

    assert response.status_code == 200
    assert b'name="reason"' in response.content and order.name.encode() in response.content
    order.refresh_from_db()
    assert order.status == Order.Status.CREATED


def test_manual_approval_action_approves_with_the_reason_and_the_user(admin_client, admin_user):
    orders = [held_order(), held_order()]
    data = {"action": "approve_manually", "_selected_action": [o.pk for o in orders], "apply": "1",
            "reason": "Fraud team cleared it"}

    response = admin_client.post(reverse(CHANGELIST), data, follow=True)

    assert [str(m) for m in response.context["messages"]] == ["Approved 2 order(s), 0 failed."]
    logs = TransitionLog.objects.filter(object_type="order", transition="approve")
    assert sorted(logs.values_list("order_id", "actor", "reason")) == sorted(
        (o.pk, admin_user.pk, "Fraud team cleared it") for o in orders
    )


def test_manual_approval_action_without_a_reason_approves_nothing(admin_client):
    order = held_order()
    data = {"action": "approve_manually", "_selected_action": [order.pk], "apply": "1", "reason": ""}

    response = admin_client.post(reverse(CHANGELIST), data)

    assert response.status_code == 200
    assert response.context["form"].errors == {"reason": ["This field is required."]}
    order.refresh_from_db()
    assert order.status == Order.Status.CREATED


def test_manual_approval_action_reports_orders_it_cannot_approve(admin_client):
    fine = held_order()
    unknown_sku = OrderFactory()
    OrderLineFactory(order=unknown_sku, product=None, sku="NOPE-9")
    data = {"action": "approve_manually", "_selected_action": [fine.pk, unknown_sku.pk], "apply": "1",
            "reason": "ok by ops"}

    response = admin_client.post(reverse(CHANGELIST), data, follow=True)

    messages = [str(m) for m in response.context["messages"]]
    assert messages[-1] == "Approved 1 order(s), 1 failed."
    assert any("NOPE-9" in message for message in messages[:-1])
    unknown_sku.refresh_from_db()
    assert unknown_sku.status == Order.Status.CREATED


@pytest.mark.parametrize(("in_operations", "offered"), [(True, True), (False, False)])
def test_manual_approval_action_is_offered_to_operations_staff_only(client, in_operations, offered):
    held_order()  # actions are offered only when the list has rows
    user = UserFactory(is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_order"))
    if in_operations:
        user.groups.add(operations_group())
    client.force_login(user)

    response = client.get(reverse(CHANGELIST))

    assert response.status_code == 200
    assert (b"approve_manually" in response.content) is offered


def test_every_registered_model_is_covered_above():
    registered = {f"{model._meta.app_label}.{model._meta.model_name}" for model in admin.site._registry}
    ours = {label for label in registered if label.split(".")[0] in {"oms", "stores", "fulfillment"}}
    assert ours == set(REGISTERED)


def test_routing_rule_admin_refuses_unknown_queues_fences_and_negative_weights(admin_client):
    rule = rules_ensure_defaults()[0]
    url = reverse("admin:oms_routingrule_change", args=[rule.pk])
    form = admin_client.get(url).context["adminform"].form
    data = {name: form[name].value() for name in form.fields}
    data = {name: ("" if value is None else value) for name, value in data.items()}
    data.update(queues='["BROKERING", "NOWHERE"]', fences='["TELEPATHY"]', weight_stock="-1",
                is_active="on" if rule.is_active else "")

    response = admin_client.post(url, data)

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "NOWHERE" in str(errors["queues"]) and "TELEPATHY" in str(errors["fences"])
    assert "negative" in str(errors["weight_stock"])
    rule.refresh_from_db()
    assert "NOWHERE" not in rule.queues


def test_operations_staff_may_edit_box_types_and_short_pick_reasons(client):
    user = UserFactory(is_staff=True)
    user.groups.add(operations_group())
    group = operations_group()
    group.permissions.add(*Permission.objects.filter(content_type__app_label="fulfillment",
                                                     content_type__model__in=["boxtype", "shortpickreason"]))
    client.force_login(user)

    assert client.get(reverse("admin:fulfillment_boxtype_changelist")).status_code == 200
    assert client.get(reverse("admin:fulfillment_shortpickreason_add")).status_code == 200


def test_operations_staff_may_edit_rejection_reasons(client):
    user = UserFactory(is_staff=True)
    user.groups.add(operations_group())
    operations_group().permissions.add(*Permission.objects.filter(content_type__app_label="oms",
                                                                  content_type__model="rejectionreason"))
    client.force_login(user)

    assert client.get(reverse("admin:oms_rejectionreason_add")).status_code == 200
