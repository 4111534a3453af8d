"""Actions on the order page: each goes through its service, says what happened, refuses bad input (400) and
stale actions (4xx with the service's message, nothing changed)."""

import pytest

import fulfillment.jobs
from fulfillment.models import PickJob
from oms.models import FulfillmentRequest, Order, OrderLine, OutboxMessage
from oms.routing.requests import request_create_manual, request_process, request_void
from tests.console.orders.world import queued_order, routed, stocked_product, store
from tests.factories import OrderFactory, OrderLineFactory, ProductFactory, UserFactory

pytestmark = pytest.mark.django_db


def act(order, action: str, request=None) -> str:
    if request is not None:
        return f"/console/orders/{order.pk}/requests/{request.pk}/{action}/"
    return f"/console/orders/{order.pk}/{action}/"


def said(response) -> str:
    return " ".join(str(message) for message in response.context["messages"]) if response.context else ""


@pytest.fixture
def chicago():
    return store("CHI-01")


@pytest.fixture
def mug(chicago):
    return stocked_product(chicago, sku="MUG-1", on_hand=5)


# --- approve -----------------------------------------------------------------------------------------


def test_approve_with_a_reason_queues_the_lines_despite_blockers(ops_client):
    order = OrderFactory(payment_status="pending")
    line = OrderLineFactory(order=order)

    response = ops_client.post(act(order, "approve"), {"reason": "paid by bank transfer"}, follow=True)

    order.refresh_from_db()
    line.refresh_from_db()
    assert order.status == "APPROVED" and (line.status, line.queue) == ("QUEUED", "BROKERING")
    assert "approved" in said(response) and "“paid by bank transfer”" in response.content.decode()


def test_approve_without_a_reason_is_refused_next_to_the_field(ops_client):
    order = OrderFactory()
    OrderLineFactory(order=order)

    response = ops_client.post(act(order, "approve"), {"reason": "  "})

    assert response.status_code == 400
    assert "Give a reason" in response.content.decode()
    order.refresh_from_db()
    assert order.status == "CREATED"


def test_approving_an_order_approved_meanwhile_is_refused(ops_client):
    order = OrderFactory(status=Order.Status.APPROVED)

    response = ops_client.post(act(order, "approve"), {"reason": "looks fine"})

    assert response.status_code == 409 and "only CREATED orders can be approved" in said(response)


# --- cancel ---------------------------------------------------------------------------------------


def test_cancel_order_cancels_its_lines_and_work_and_tells_the_shop(ops_client, mug):
    order = routed([mug], quantity=2)

    response = ops_client.post(act(order, "cancel"), {"reason": "customer asked", "confirm": "on"}, follow=True)

    order.refresh_from_db()
    assert order.status == "CANCELED" and set(order.lines.values_list("status", flat=True)) == {"CANCELED"}
    assert order.pick_jobs.get().status == "CANCELED" and order.fulfillment_requests.get().status == "CANCELED"
    assert OutboxMessage.objects.filter(order=order, kind="order-canceled").exists()
    assert "CANCELED" in said(response)


def test_cancel_order_needs_a_reason_and_the_confirmation(ops_client, mug):
    order = routed([mug])

    response = ops_client.post(act(order, "cancel"), {"reason": ""})

    assert response.status_code == 400
    page = response.content.decode()
    assert "Give a reason" in page and "Tick the box to confirm." in page
    order.refresh_from_db()
    assert order.status == "APPROVED"


def test_cancelling_a_canceled_order_is_refused(ops_client):
    order = OrderFactory(status=Order.Status.CANCELED)

    response = ops_client.post(act(order, "cancel"), {"reason": "again", "confirm": "on"})

    assert response.status_code == 409 and "only open orders can be canceled" in said(response)


def test_cancel_chosen_lines_keeps_the_others(ops_client, mug, chicago):
    tea = stocked_product(chicago, sku="TEA-1")
    order = queued_order([mug, tea])
    gone, kept = order.lines.order_by("pk")

    response = ops_client.post(act(order, "lines/cancel"), {"lines": [gone.pk], "reason": "out of season",
                                                            "confirm": "on"}, follow=True)

    gone.refresh_from_db()
    kept.refresh_from_db()
    assert (gone.status, kept.status) == ("CANCELED", "QUEUED")
    assert "1 line(s)" in said(response) and OutboxMessage.objects.filter(order=order, kind="lines-canceled").exists()


def test_cancel_lines_refuses_no_line_or_a_line_already_canceled(ops_client, mug, chicago):
    order = queued_order([mug, stocked_product(chicago)])
    canceled = OrderLineFactory(order=order, status=OrderLine.Status.CANCELED)

    nothing = ops_client.post(act(order, "lines/cancel"), {"reason": "r", "confirm": "on"})
    stale = ops_client.post(act(order, "lines/cancel"), {"lines": [canceled.pk], "reason": "r", "confirm": "on"})

    assert nothing.status_code == stale.status_code == 400
    assert "Choose at least one line to cancel." in nothing.content.decode()
    assert f"{canceled.pk} is not one of the available choices" in stale.content.decode()
    assert set(order.lines.exclude(pk=canceled.pk).values_list("status", flat=True)) == {"QUEUED"}


# --- routing preview ---------------------------------------------------------------------------------


def test_routing_preview_shows_the_decision_candidates_and_fences_without_writing(ops_client, mug, chicago):
    store("BOS-01", city="Boston")
    order = queued_order([mug], quantity=2)

    response = ops_client.get(act(order, "preview"), headers={"HX-Request": "true"})

    page = response.content.decode()
    assert response.status_code == 200 and "<html" not in page
    assert "Sent to Store CHI-01" in page and "CHI-01" in page and "nothing was changed" in page
    assert "no stock" in page  # BOS-01 was fenced out
    assert not FulfillmentRequest.objects.exists()
    assert set(order.lines.values_list("status", flat=True)) == {"QUEUED"}


def test_routing_preview_without_htmx_is_the_order_page_with_the_panel(ops_client, mug):
    order = queued_order([mug])

    page = ops_client.get(act(order, "preview")).content.decode()

    assert "Routing preview" in page and "Sent to Store CHI-01" in page and "Lines" in page


# --- manual request ---------------------------------------------------------------------------------


def test_create_a_request_by_hand_at_a_chosen_facility(ops_client, mug, chicago):
    order = queued_order([mug], quantity=3, queue="UNFILLABLE")
    line = order.lines.get()

    response = ops_client.post(act(order, "requests/create"), {
        "facility": chicago.pk, f"units_{line.pk}": 2, "reason": "customer waits", "confirm": "on",
    }, follow=True)

    request = FulfillmentRequest.objects.get(order=order)
    assert (request.facility, request.status) == (chicago, "PROCESSED")
    assert sorted(order.lines.values_list("status", "quantity")) == [("ALLOCATED", 2), ("QUEUED", 1)]
    assert f"Created {request.number} at CHI-01" in said(response)


def test_create_a_request_refuses_a_missing_facility_and_too_many_units(ops_client, mug):
    order = queued_order([mug], quantity=2)
    line = order.lines.get()

    response = ops_client.post(act(order, "requests/create"), {f"units_{line.pk}": 5, "reason": "r", "confirm": "on"})

    assert response.status_code == 400
    page = response.content.decode()
    assert "Choose the facility to send the lines to." in page and "less than or equal to 2" in page
    assert not FulfillmentRequest.objects.exists()


def test_create_a_request_where_the_stock_is_missing_is_refused_and_writes_nothing(ops_client, chicago):
    bare = ProductFactory(sku="BARE-1")
    order = queued_order([bare])

    response = ops_client.post(act(order, "requests/create"), {"facility": chicago.pk, "reason": "try",
                                                               "confirm": "on"})

    assert response.status_code == 409 and "CHI-01 lacks stock" in said(response)
    assert not FulfillmentRequest.objects.exists() and order.lines.get().status == "QUEUED"


# --- void, regenerate ----------------------------------------------------------------------------------


def test_void_sends_the_lines_back_to_brokering(ops_client, mug):
    order = routed([mug])
    request = order.fulfillment_requests.get()

    response = ops_client.post(act(order, "void", request), {"reason": "wrong store", "confirm": "on"}, follow=True)

    request.refresh_from_db()
    assert request.status == "CANCELED" and order.lines.get().queue == "BROKERING"
    assert f"{request.number} voided" in said(response)


def test_voiding_a_voided_request_is_refused_and_changes_nothing(ops_client, mug):
    order = routed([mug])
    request = order.fulfillment_requests.get()
    request_void(request_id=request.pk, actor=UserFactory(), reason="first")
    history = order.history.count()

    response = ops_client.post(act(order, "void", request), {"reason": "again", "confirm": "on"})

    assert response.status_code == 409 and "only requests no location has started on can be voided" in said(response)
    assert order.history.count() == history


def test_void_needs_a_reason(ops_client, mug):
    order = routed([mug])
    request = order.fulfillment_requests.get()

    response = ops_client.post(act(order, "void", request), {"confirm": "on"})

    assert response.status_code == 400 and "Give a reason" in response.content.decode()
    request.refresh_from_db()
    assert request.status == "PROCESSED"


def test_regenerate_voids_and_routes_again(ops_client, mug):
    order = routed([mug])
    old = order.fulfillment_requests.get()

    response = ops_client.post(act(order, "regenerate", old), {"reason": "rules changed", "confirm": "on"},
                               follow=True)

    old.refresh_from_db()
    new = order.fulfillment_requests.exclude(pk=old.pk).get()
    assert old.status == "CANCELED" and new.status == "PROCESSED" and order.lines.get().status == "ALLOCATED"
    assert "voided and routed again: Sent to Store CHI-01" in said(response)


# --- process, retry --------------------------------------------------------------------------------


@pytest.fixture
def unprocessed():
    manual = store("MAN-01", processing_mode="MANUAL")
    order = queued_order([stocked_product(manual)])
    return request_create_manual(order_id=order.pk, facility_id=manual.pk, actor=UserFactory(), reason="r")


def test_process_sends_the_request_and_a_second_process_is_refused(ops_client, unprocessed):
    order = unprocessed.order

    done = ops_client.post(act(order, "process", unprocessed), {"confirm": "on"}, follow=True)
    again = ops_client.post(act(order, "process", unprocessed), {"confirm": "on"})

    unprocessed.refresh_from_db()
    assert unprocessed.status == "PROCESSED" and PickJob.objects.filter(fulfillment_request=unprocessed).count() == 1
    assert f"{unprocessed.number} is PROCESSED" in said(done)
    assert again.status_code == 409 and "is PROCESSED, not UNPROCESSED" in said(again)


def test_process_needs_the_confirmation(ops_client, unprocessed):
    response = ops_client.post(act(unprocessed.order, "process", unprocessed), {})

    assert response.status_code == 400 and "Tick the box to confirm." in response.content.decode()
    unprocessed.refresh_from_db()
    assert unprocessed.status == "UNPROCESSED"


def test_retry_sends_a_failed_request_again(ops_client, unprocessed, monkeypatch):
    def printer_offline(**kwargs):
        raise RuntimeError("pick list printer offline")

    monkeypatch.setattr(fulfillment.jobs, "pick_jobs_create", printer_offline)
    failing = ops_client.post(act(unprocessed.order, "process", unprocessed), {"confirm": "on"})
    assert failing.status_code == 409 and "pick list printer offline" in said(failing)
    unprocessed.refresh_from_db()
    assert unprocessed.status == "FAILED"
    monkeypatch.undo()
    page = ops_client.get(f"/console/orders/{unprocessed.order_id}/").content.decode()
    assert "Retry…" in page and "pick list printer offline" in page

    response = ops_client.post(act(unprocessed.order, "retry", unprocessed), {"confirm": "on"}, follow=True)

    unprocessed.refresh_from_db()
    assert unprocessed.status == "PROCESSED" and f"{unprocessed.number} is PROCESSED" in said(response)


def test_retrying_a_request_that_did_not_fail_is_refused(ops_client, unprocessed):
    request_process(request_id=unprocessed.pk, actor=None)

    response = ops_client.post(act(unprocessed.order, "retry", unprocessed), {"confirm": "on"})

    assert response.status_code == 409 and "not FAILED" in said(response)


def test_only_the_actions_the_states_allow_are_offered(ops_client, mug):
    created = OrderFactory()
    OrderLineFactory(order=created)
    canceled = OrderFactory(status=Order.Status.CANCELED)

    open_page = ops_client.get(f"/console/orders/{created.pk}/").content.decode()
    closed_page = ops_client.get(f"/console/orders/{canceled.pk}/").content.decode()

    assert "Approve…" in open_page and "Cancel order…" in open_page
    assert not any(action in closed_page for action in ("Approve…", "Cancel order…", "Create a request…"))
