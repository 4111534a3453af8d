"""Order approval: each check passes and fails, lines reach their queues, runs are logged, safe twice and at once."""

import io
import threading
import time

import pytest
from django.core.management import call_command
from django.db import close_old_connections, connection, transaction
from django.utils import timezone

from oms.models import Order, OrderLine, OrderNote, TransitionLog
from oms.orders import approval
from oms.orders.approval import (
    PASSED_REASON,
    ApprovalError,
    _order_approve_locked,
    order_approval_blockers,
    order_approve,
    orders_approve_pending,
)
from tests.factories import FacilityFactory, OrderFactory, OrderLineFactory, UserFactory

pytestmark = pytest.mark.django_db


def ship_order(**fields) -> Order:
    order = OrderFactory(**fields)
    OrderLineFactory(order=order)
    return order


def pickup_order(*, facility=None, **fields) -> Order:
    facility = facility or FacilityFactory(offers_pickup=True)
    order = OrderFactory(**({"shipping_address": {}} | fields))  # a pickup order names no address
    OrderLineFactory(order=order, pickup_store_code=facility.code, pickup_facility=facility)
    return order


def blocker_codes(order: Order) -> list[str]:
    lines = list(order.lines.select_related("pickup_facility"))
    return [blocker["code"] for blocker in order_approval_blockers(order=order, lines=lines)]


def approve(order: Order) -> Order:
    order_approve(order_id=order.pk)
    order.refresh_from_db()
    return order


def approval_logs(order: Order) -> int:
    return TransitionLog.objects.filter(order=order, object_type="order", transition="approve").count()


# --- The checks -----------------------------------------------------------------------------------


@pytest.mark.parametrize("payment_status", ["paid", "authorized", "PAID"])
def test_paid_or_authorized_ship_order_is_approved(payment_status):
    order = approve(ship_order(payment_status=payment_status))
    assert order.status == Order.Status.APPROVED
    assert order.approval_blockers == []


@pytest.mark.parametrize("payment_status", ["pending", "", "refunded", "voided"])
def test_unpaid_ship_order_is_held_for_payment(payment_status):
    order = approve(ship_order(payment_status=payment_status))
    assert order.status == Order.Status.CREATED
    assert [b["code"] for b in order.approval_blockers] == ["PAYMENT_NOT_CAPTURED"]


def test_pending_pickup_order_passes_when_pickup_may_be_paid_at_the_counter(settings):
    settings.APPROVAL_PICKUP_ALLOWS_PENDING = True
    order = approve(pickup_order(payment_status="pending"))
    assert order.status == Order.Status.APPROVED


def test_pending_pickup_order_is_held_when_pickup_must_be_paid_online(settings):
    settings.APPROVAL_PICKUP_ALLOWS_PENDING = False
    order = approve(pickup_order(payment_status="pending"))
    assert order.status == Order.Status.CREATED
    assert blocker_codes(order) == ["PAYMENT_NOT_CAPTURED"]


def test_pending_mixed_order_is_held_because_part_of_it_ships(settings):
    settings.APPROVAL_PICKUP_ALLOWS_PENDING = True
    order = pickup_order(payment_status="pending")
    OrderLineFactory(order=order)
    order.shipping_address = OrderFactory.build().shipping_address
    order.save()
    assert blocker_codes(order) == ["PAYMENT_NOT_CAPTURED"]


def test_pending_pickup_order_with_a_canceled_ship_line_counts_as_pickup():
    order = pickup_order(payment_status="pending")
    OrderLineFactory(order=order, status=OrderLine.Status.CANCELED)
    assert blocker_codes(order) == []


@pytest.mark.parametrize("tag", ["HOLD", "hold", " Fraud_Review "])
def test_hold_tag_in_any_case_holds_the_order(tag):
    order = approve(ship_order(tags=["vip", tag]))
    assert order.status == Order.Status.CREATED
    assert [b["code"] for b in order.approval_blockers] == ["HOLD_TAG"]


def test_hold_tags_come_from_settings(settings):
    settings.APPROVAL_HOLD_TAGS = ["MANUAL_CHECK"]
    assert blocker_codes(ship_order(tags=["HOLD"])) == []
    assert blocker_codes(ship_order(tags=["manual_check"])) == ["HOLD_TAG"]


@pytest.mark.parametrize("missing", ["address1", "city", "zip", "country_code"])
def test_ship_order_with_incomplete_address_is_held(missing):
    address = OrderFactory.build().shipping_address | {missing: " "}
    order = approve(ship_order(shipping_address=address))
    assert order.status == Order.Status.CREATED
    assert [b["code"] for b in order.approval_blockers] == ["INCOMPLETE_ADDRESS"]
    assert missing in order.approval_blockers[0]["message"]


def test_pickup_order_needs_no_shipping_address():
    assert blocker_codes(pickup_order(shipping_address={})) == []


def test_unknown_sku_holds_the_order():
    order = OrderFactory()
    OrderLineFactory(order=order, product=None, sku="NOPE-1")
    order = approve(order)
    assert order.status == Order.Status.CREATED
    assert [b["code"] for b in order.approval_blockers] == ["UNKNOWN_SKU"]
    assert "NOPE-1" in order.approval_blockers[0]["message"]


def test_unknown_pickup_store_holds_the_order():
    order = OrderFactory(shipping_address={})
    OrderLineFactory(order=order, pickup_store_code="NOWHERE", pickup_facility=None)
    order = approve(order)
    assert order.status == Order.Status.CREATED
    assert [b["code"] for b in order.approval_blockers] == ["UNKNOWN_PICKUP_STORE"]


@pytest.mark.parametrize("facility_fields", [{"is_active": False}, {"offers_pickup": False}])
def test_pickup_store_that_is_inactive_or_offers_no_pickup_holds_the_order(facility_fields):
    facility = FacilityFactory(**({"offers_pickup": True} | facility_fields))
    order = approve(pickup_order(facility=facility))
    assert order.status == Order.Status.CREATED
    assert [b["code"] for b in order.approval_blockers] == ["PICKUP_STORE_UNAVAILABLE"]


def test_unresolved_import_problem_holds_the_order():
    problem = {"code": "BAD_PROMISE_DATE", "message": "Line 1 (SKU-1): promise date 'soon' is not YYYY-MM-DD."}
    order = approve(ship_order(problems=[problem]))
    assert order.status == Order.Status.CREATED
    assert order.approval_blockers == [problem]


def test_import_problem_for_a_product_set_up_since_no_longer_holds_the_order():
    stale = {"code": "UNKNOWN_SKU", "message": "Line 1: SKU SKU-1 is not a known product."}
    order = approve(ship_order(problems=[stale]))  # the line has its product now
    assert order.status == Order.Status.APPROVED


def test_every_failing_check_is_reported_together():
    order = OrderFactory(payment_status="pending", tags=["HOLD"], shipping_address={})
    OrderLineFactory(order=order, product=None, sku="NOPE-2")
    assert blocker_codes(order) == ["PAYMENT_NOT_CAPTURED", "HOLD_TAG", "INCOMPLETE_ADDRESS", "UNKNOWN_SKU"]


# --- What approval does ---------------------------------------------------------------------------


def test_approved_lines_go_to_the_queue_their_kind_asks_for():
    now = timezone.now()
    order = OrderFactory()
    standard = OrderLineFactory(order=order)
    pre_order = OrderLineFactory(order=order, kind=OrderLine.Kind.PRE_ORDER)
    backorder = OrderLineFactory(order=order, kind=OrderLine.Kind.BACKORDER)
    canceled = OrderLineFactory(order=order, status=OrderLine.Status.CANCELED)

    order_approve(order_id=order.pk, now=now)

    queues = {
        line.pk: (line.status, line.queue, line.queued_at)
        for line in OrderLine.objects.filter(order=order)
    }
    assert queues == {
        standard.pk: ("QUEUED", "BROKERING", now),
        pre_order.pk: ("QUEUED", "PRE_ORDER", now),
        backorder.pk: ("QUEUED", "BACKORDER", now),
        canceled.pk: ("CANCELED", "", None),
    }
    order.refresh_from_db()
    assert (order.status, order.approved_at) == (Order.Status.APPROVED, now)


def test_approval_logs_the_order_and_every_line_with_reason():
    now = timezone.now()
    order = ship_order()
    OrderLineFactory(order=order)

    orders_approve_pending(now=now)

    logs = list(TransitionLog.objects.filter(order=order).values_list(
        "object_type", "transition", "source_state", "target_state", "actor", "reason", "at",
    ))
    assert sorted(logs) == sorted([
        ("order", "approve", "CREATED", "APPROVED", None, PASSED_REASON, now),
        ("orderline", "enqueue", "CREATED", "QUEUED", None, PASSED_REASON, now),
        ("orderline", "enqueue", "CREATED", "QUEUED", None, PASSED_REASON, now),
    ])


def test_held_order_keeps_its_reasons_with_one_note_until_they_change_and_passes_once_fixed():
    order = ship_order(tags=["HOLD"])

    first = orders_approve_pending()
    orders_approve_pending()
    order.refresh_from_db()
    assert (first.checked, first.approved, first.held) == (1, 0, 1)
    assert [b["code"] for b in order.approval_blockers] == ["HOLD_TAG"]
    assert OrderNote.objects.filter(order=order).count() == 1

    order.payment_status = "pending"
    order.save()
    orders_approve_pending()
    order.refresh_from_db()
    assert [b["code"] for b in order.approval_blockers] == ["PAYMENT_NOT_CAPTURED", "HOLD_TAG"]
    assert OrderNote.objects.filter(order=order).count() == 2

    order.payment_status, order.tags = "paid", []
    order.save()
    summary = orders_approve_pending()
    order.refresh_from_db()
    assert (summary.approved, order.status, order.approval_blockers) == (1, Order.Status.APPROVED, [])


def test_approving_an_approved_order_again_changes_nothing():
    order = ship_order()
    orders_approve_pending()
    summary = orders_approve_pending()
    assert order_approve(order_id=order.pk).status == Order.Status.APPROVED
    assert (summary.checked, summary.approved) == (0, 0)
    assert approval_logs(order) == 1


def test_pending_run_goes_through_every_batch():
    orders = [ship_order() for _ in range(5)]
    summary = orders_approve_pending(batch_size=2)
    assert (summary.checked, summary.approved) == (5, 5)
    assert Order.objects.filter(pk__in=[o.pk for o in orders], status=Order.Status.APPROVED).count() == 5


def test_one_order_that_fails_does_not_stop_the_run(monkeypatch):
    broken, fine = ship_order(), ship_order()
    real = approval.order_approval_blockers

    def blockers(*, order, lines):
        if order.pk == broken.pk:
            raise RuntimeError("bad data")
        return real(order=order, lines=lines)

    monkeypatch.setattr(approval, "order_approval_blockers", blockers)
    summary = orders_approve_pending()

    assert (summary.approved, summary.failed) == (1, 1)
    assert Order.objects.get(pk=fine.pk).status == Order.Status.APPROVED
    assert Order.objects.get(pk=broken.pk).status == Order.Status.CREATED


def test_approve_orders_command_prints_counts_and_why_orders_are_held():
    ship_order()
    held = ship_order(tags=["HOLD"], name="#H1")
    out = io.StringIO()

    call_command("approve_orders", stdout=out)

    lines = out.getvalue().splitlines()
    assert lines[0] == "checked 2, approved 1, held 1"
    assert lines[1].strip().startswith(f"{held.name}: HOLD_TAG: The order is tagged HOLD")


# --- Manual approval ------------------------------------------------------------------------------


def test_manual_approval_overrides_a_hold_and_logs_the_actor_and_reason():
    user = UserFactory()
    order = ship_order(tags=["HOLD"], payment_status="pending")

    order_approve(order_id=order.pk, actor=user, reason="Customer called, paying by invoice", manual=True)

    order.refresh_from_db()
    assert order.status == Order.Status.APPROVED
    log = TransitionLog.objects.get(order=order, object_type="order")
    assert (log.actor, log.reason) == (user, "Customer called, paying by invoice")
    assert set(TransitionLog.objects.filter(order=order).values_list("actor", "reason")) == {
        (user.pk, "Customer called, paying by invoice")
    }
    assert "despite" in OrderNote.objects.get(order=order).text


def test_manual_approval_is_refused_for_an_unknown_sku():
    order = OrderFactory()
    OrderLineFactory(order=order, product=None, sku="NOPE-3")

    with pytest.raises(ApprovalError, match="NOPE-3"):
        order_approve(order_id=order.pk, actor=UserFactory(), reason="ship it", manual=True)

    order.refresh_from_db()
    assert order.status == Order.Status.CREATED
    assert not TransitionLog.objects.filter(order=order).exists()


def test_manual_approval_is_refused_for_an_unknown_pickup_store():
    order = OrderFactory(shipping_address={})
    OrderLineFactory(order=order, pickup_store_code="NOWHERE", pickup_facility=None)
    with pytest.raises(ApprovalError, match="NOWHERE"):
        order_approve(order_id=order.pk, actor=UserFactory(), reason="ship it", manual=True)


def test_order_with_every_line_canceled_is_held_and_refused_manually():
    order = OrderFactory()
    OrderLineFactory(order=order, status=OrderLine.Status.CANCELED)
    assert "NO_LINES" in blocker_codes(order)
    with pytest.raises(ApprovalError, match="no lines"):
        order_approve(order_id=order.pk, actor=UserFactory(), reason="ship it", manual=True)


def test_manual_approval_needs_a_reason_and_a_created_order():
    order = ship_order()
    with pytest.raises(ApprovalError, match="reason"):
        order_approve(order_id=order.pk, actor=UserFactory(), reason="  ", manual=True)
    order_approve(order_id=order.pk)
    with pytest.raises(ApprovalError, match="APPROVED"):
        order_approve(order_id=order.pk, actor=UserFactory(), reason="again", manual=True)
    assert approval_logs(order) == 1


# --- Two runs at once -----------------------------------------------------------------------------

ORDERS = 40


def run_concurrently(target, count: int = 2) -> list:
    """Start `count` threads on `target` together; return what each returned."""
    barrier = threading.Barrier(count)
    results, errors = [], []

    def worker():
        try:
            barrier.wait(timeout=10)
            results.append(target())
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return results


def naive_approve_pending():
    """Read without locking, then approve: the race the real run must avoid. Kept to prove the test."""
    orders = list(Order.objects.filter(status=Order.Status.CREATED).order_by("pk"))
    time.sleep(0.1)  # the other run reads the same orders meanwhile
    for order in orders:
        with transaction.atomic():
            lines = list(order.lines.order_by("pk"))
            _order_approve_locked(order=order, lines=lines, actor=None, reason=PASSED_REASON, now=timezone.now())


def approvals_per_order() -> dict[int, int]:
    counts = dict.fromkeys(Order.objects.values_list("pk", flat=True), 0)
    for order_id in TransitionLog.objects.filter(object_type="order", transition="approve").values_list(
        "order_id", flat=True
    ):
        counts[order_id] += 1
    return counts


@pytest.fixture
def many_orders(transactional_db):
    orders = [ship_order() for _ in range(ORDERS)]
    for order in orders[::2]:
        OrderLineFactory(order=order)
    return orders


def test_two_runs_at_once_approve_each_order_exactly_once(many_orders):
    summaries = run_concurrently(orders_approve_pending)

    assert set(approvals_per_order().values()) == {1}
    assert sum(summary.approved for summary in summaries) == ORDERS
    assert not OrderLine.objects.exclude(status=OrderLine.Status.QUEUED).exists()
    enqueues = TransitionLog.objects.filter(transition="enqueue").count()
    assert enqueues == OrderLine.objects.count()


def test_naive_unlocked_runs_are_caught_approving_twice(many_orders):
    run_concurrently(naive_approve_pending)

    assert max(approvals_per_order().values()) == 2, "the harness failed to detect a double approval"
