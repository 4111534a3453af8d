"""Parked lines: auto-cancel of expired unfillable lines, moves to UNFILLABLE_HOLD, release of waiting lines."""

import io
from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction

from oms.models import Order, OrderLine, OrderNote, OutboxMessage, TransitionLog
from oms.queues.parkings import (
    ParkingError,
    lines_move,
    lines_move_to_hold,
    lines_move_to_hold_csv,
    unfillable_cancel_expired,
    waiting_lines_release,
)
from stores.stock import stock_adjust
from tests.factories import FacilityFactory, OrderFactory, OrderLineFactory, ProductFactory, UserFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 3, 4, 16, 0, tzinfo=UTC)


def approved_order(**fields) -> Order:
    return OrderFactory(status="APPROVED", **fields)


def parked(*, order=None, queue="UNFILLABLE", auto_cancel_at=None, quantity=1, **fields) -> OrderLine:
    return OrderLineFactory(order=order or approved_order(), status="QUEUED", queue=queue, quantity=quantity,
                            auto_cancel_at=auto_cancel_at, queued_at=NOW - timedelta(days=8), **fields)


def stock(facility, product, on_hand: int) -> None:
    with transaction.atomic():
        stock_adjust(facility_id=facility.pk, product_id=product.pk, delta=on_hand, reason="RECEIPT", now=NOW)


# --- auto-cancel --------------------------------------------------------------------------------


def test_expired_unfillable_lines_are_canceled_with_the_order_and_the_shop_told_once():
    order = approved_order()
    lines = [parked(order=order, auto_cancel_at=NOW - timedelta(minutes=1), quantity=q) for q in (1, 2)]

    assert unfillable_cancel_expired(now=NOW) == 2

    for line in lines:
        line.refresh_from_db()
        assert (line.status, line.queue, line.cancel_reason, line.auto_cancel_at) == (
            "CANCELED", "", "not fillable in time", None)
    order.refresh_from_db()
    assert order.status == "CANCELED"
    message = OutboxMessage.objects.get()
    ids = ",".join(str(line.pk) for line in sorted(lines, key=lambda line: line.pk))
    assert (message.kind, message.destination, message.idempotency_key) == (
        "lines-canceled", "SHOP", f"lines-canceled:{order.pk}:{ids}")
    assert message.payload["external_id"] == order.external_id
    assert sorted(message.payload["lines"], key=lambda row: row["quantity"]) == [
        {"external_line_id": lines[0].external_line_id, "quantity": 1, "remaining": 0},
        {"external_line_id": lines[1].external_line_id, "quantity": 2, "remaining": 0},
    ]
    logged = TransitionLog.objects.filter(order=order).values_list("object_type", "transition", "reason")
    assert sorted(logged) == [("order", "cancel", "every line canceled"),
                              ("orderline", "cancel", "not fillable in time"),
                              ("orderline", "cancel", "not fillable in time")]


def test_lines_not_yet_due_stay_and_keep_the_order_open():
    order = approved_order()
    due = parked(order=order, auto_cancel_at=NOW)
    later = parked(order=order, auto_cancel_at=NOW + timedelta(hours=1))

    assert unfillable_cancel_expired(now=NOW) == 1

    assert OrderLine.objects.get(pk=due.pk).status == "CANCELED"
    assert OrderLine.objects.get(pk=later.pk).queue == "UNFILLABLE"
    assert Order.objects.get(pk=order.pk).status == "APPROVED"
    assert OutboxMessage.objects.get().idempotency_key == f"lines-canceled:{order.pk}:{due.pk}"


def test_hold_lines_are_never_auto_canceled():
    held = parked(queue="UNFILLABLE_HOLD", auto_cancel_at=NOW - timedelta(days=30))

    assert unfillable_cancel_expired(now=NOW) == 0

    held.refresh_from_db()
    assert (held.status, held.queue) == ("QUEUED", "UNFILLABLE_HOLD")
    assert not OutboxMessage.objects.exists()


def test_order_with_a_fulfilled_line_completes_when_the_rest_expires():
    order = approved_order()
    OrderLineFactory(order=order, status="FULFILLED")
    parked(order=order, auto_cancel_at=NOW - timedelta(days=1))

    unfillable_cancel_expired(now=NOW)

    assert Order.objects.get(pk=order.pk).status == "COMPLETED"
    assert sorted(OutboxMessage.objects.values_list("kind", flat=True)) == ["lines-canceled", "order-completed"]


def test_auto_cancel_run_twice_cancels_and_tells_once():
    parked(auto_cancel_at=NOW - timedelta(days=1))

    assert (unfillable_cancel_expired(now=NOW), unfillable_cancel_expired(now=NOW)) == (1, 0)

    assert OutboxMessage.objects.count() == 1
    assert TransitionLog.objects.filter(object_type="orderline", transition="cancel").count() == 1


# --- moves between parkings ---------------------------------------------------------------------


def test_move_to_hold_by_order_keeps_the_auto_cancel_date_and_notes_it():
    ops = UserFactory()
    order = approved_order(name="#2001")
    deadline = NOW + timedelta(days=3)
    line = parked(order=order, auto_cancel_at=deadline)
    other = parked(order=order, queue="BROKERING")

    report = lines_move_to_hold(order_names=["#2001"], actor=ops, reason="supplier delivers next month", now=NOW)

    assert report.moved == [("#2001", 1)]
    line.refresh_from_db()
    assert (line.queue, line.auto_cancel_at, line.queued_at) == ("UNFILLABLE_HOLD", deadline, NOW)
    assert OrderLine.objects.get(pk=other.pk).queue == "BROKERING"
    note = OrderNote.objects.get(order=order)
    assert note.actor == ops and "UNFILLABLE to UNFILLABLE_HOLD: supplier delivers next month" in note.text


def test_move_to_hold_by_line_reports_lines_that_are_not_unfillable():
    unfillable, brokering = parked(auto_cancel_at=NOW), parked(queue="BROKERING")

    report = lines_move_to_hold(line_ids=[unfillable.pk, brokering.pk, 999999], actor=None, reason="hold")

    assert report.moved == [(unfillable.order.name, 1)]
    assert report.not_in_queue == [f"line {brokering.pk} ({brokering.order.name})"]
    assert report.not_found == ["line 999999"]


def test_move_to_hold_csv_moves_known_orders_and_reports_every_bad_row():
    deadline = NOW + timedelta(days=2)
    first = parked(order=approved_order(name="#3001"), auto_cancel_at=deadline)
    second = parked(order=approved_order(name="#3002"), auto_cancel_at=deadline)
    parked(order=approved_order(name="#3003"), queue="REJECTED")
    csv_file = io.StringIO("order,comment\n#3001,vip\n,\n#9999,typo\n#3003,nothing unfillable\n3002,no hash\n")

    report = lines_move_to_hold_csv(file=csv_file, actor=None, reason="customer agreed to wait", now=NOW)

    assert report.moved == [("#3001", 1), ("#3002", 1)]
    assert report.not_found == ["#9999"]
    assert report.not_in_queue == ["#3003"]
    assert report.bad_rows == [(3, "empty row")]
    for line in (first, second):
        line.refresh_from_db()
        assert (line.queue, line.auto_cancel_at) == ("UNFILLABLE_HOLD", deadline)


def test_move_to_hold_csv_without_an_order_column_moves_nothing():
    line = parked(order=approved_order(name="#3101"), auto_cancel_at=NOW)

    report = lines_move_to_hold_csv(file=io.BytesIO(b"name\n#3101\n"), actor=None, reason="hold")

    assert report.moved == [] and report.bad_rows[0][0] == 1 and "header missing" in report.bad_rows[0][1]
    assert OrderLine.objects.get(pk=line.pk).queue == "UNFILLABLE"


def test_move_into_unfillable_sets_a_deadline_only_where_there_is_none():
    kept = NOW + timedelta(days=2)
    dated = parked(queue="UNFILLABLE_HOLD", auto_cancel_at=kept)
    undated = parked(queue="REJECTED")

    report = lines_move(line_ids=[dated.pk, undated.pk], to_queue="UNFILLABLE", actor=None, reason="give up",
                        now=NOW)

    assert report.lines_moved == 2
    assert OrderLine.objects.get(pk=dated.pk).auto_cancel_at == kept
    assert OrderLine.objects.get(pk=undated.pk).auto_cancel_at == NOW + timedelta(days=7)


def test_a_move_needs_a_known_queue_and_a_reason():
    line = parked(auto_cancel_at=NOW)
    with pytest.raises(ParkingError, match="not a queue"):
        lines_move(line_ids=[line.pk], to_queue="LIMBO", actor=None, reason="x")
    with pytest.raises(ParkingError, match="reason"):
        lines_move_to_hold(line_ids=[line.pk], actor=None, reason=" ")
    assert OrderLine.objects.get(pk=line.pk).queue == "UNFILLABLE"


def test_park_lines_command_prints_the_report(tmp_path):
    parked(order=approved_order(name="#3201"), auto_cancel_at=NOW)
    path = tmp_path / "hold.csv"
    path.write_text("order_name\n#3201\n#nope\n")
    out = io.StringIO()

    call_command("park_lines", "hold", "--csv", str(path), "--reason", "waiting for supplier", stdout=out)

    assert "moved 1 line(s) of 1 order(s)" in out.getvalue() and "not found: #nope" in out.getvalue()
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("park_lines", "hold", "--csv", str(tmp_path / "missing.csv"), "--reason", "x")


# --- releasing pre-orders and backorders --------------------------------------------------------


def waiting(*, queue="PRE_ORDER", promise_date=None, product=None, quantity=1, **fields) -> OrderLine:
    kind = "PRE_ORDER" if queue == "PRE_ORDER" else "BACKORDER"
    return parked(queue=queue, kind=kind, promise_date=promise_date, product=product or ProductFactory(),
                  quantity=quantity, **fields)


def test_release_on_the_promise_date_and_not_before():
    due = waiting(promise_date=date(2025, 3, 4))
    early = waiting(promise_date=date(2025, 3, 5))

    assert waiting_lines_release(now=NOW) == 1

    assert OrderLine.objects.get(pk=due.pk).queue == "BROKERING"
    assert OrderLine.objects.get(pk=early.pk).queue == "PRE_ORDER"
    assert "promise date 2025-03-04 reached" in OrderNote.objects.get(order=due.order).text


def test_release_when_stock_arrives_at_a_facility_that_can_serve_the_line():
    product = ProductFactory()
    line = waiting(queue="BACKORDER", product=product, quantity=2)
    store = FacilityFactory(code="SERVES-01")
    stock(store, product, 1)
    assert waiting_lines_release(now=NOW) == 0  # one unit is not the whole line

    stock(store, product, 1)
    assert waiting_lines_release(now=NOW) == 1

    line.refresh_from_db()
    assert (line.status, line.queue, line.queued_at) == ("QUEUED", "BROKERING", NOW)
    assert "stock available at SERVES-01" in OrderNote.objects.get(order=line.order).text


@pytest.mark.parametrize("facility", [
    {"sells_online": False},
    {"is_active": False},
    {"offers_ship_from_store": False},
    {"country": "CA"},
])
def test_stock_at_a_facility_that_cannot_serve_releases_nothing(facility):
    product = ProductFactory()
    line = waiting(queue="BACKORDER", product=product)
    stock(FacilityFactory(**facility), product, 5)

    assert waiting_lines_release(now=NOW) == 0
    assert OrderLine.objects.get(pk=line.pk).queue == "BACKORDER"


def test_pickup_line_is_released_only_by_stock_at_its_store():
    product = ProductFactory()
    chosen, other = FacilityFactory(), FacilityFactory()
    line = waiting(product=product, pickup_facility=chosen, pickup_store_code=chosen.code)
    stock(other, product, 5)
    assert waiting_lines_release(now=NOW) == 0

    stock(chosen, product, 1)
    assert waiting_lines_release(now=NOW) == 1
    assert OrderLine.objects.get(pk=line.pk).queue == "BROKERING"


def test_arriving_stock_releases_only_as_many_lines_as_it_covers():
    product = ProductFactory()
    lines = [waiting(queue="BACKORDER", product=product, quantity=2) for _ in range(3)]
    stock(FacilityFactory(), product, 5)

    assert waiting_lines_release(now=NOW) == 2

    assert [OrderLine.objects.get(pk=line.pk).queue for line in lines] == ["BROKERING", "BROKERING", "BACKORDER"]


def test_forced_release_moves_the_named_orders_lines_regardless():
    forced, untouched = waiting(promise_date=date(2026, 1, 1)), waiting()

    assert waiting_lines_release(order_ids=[forced.order_id], force=True, reason="launch moved", now=NOW) == 1

    assert OrderLine.objects.get(pk=forced.pk).queue == "BROKERING"
    assert OrderLine.objects.get(pk=untouched.pk).queue == "PRE_ORDER"
    assert "released by hand: launch moved" in OrderNote.objects.get(order=forced.order).text
    with pytest.raises(ParkingError):
        waiting_lines_release(force=True)


def test_release_lines_command_forces_named_orders():
    line = waiting(order=approved_order(name="#4001"))
    out = io.StringIO()

    call_command("release_lines", "--order", "#4001", "--force", stdout=out)

    assert out.getvalue().strip() == "released 1 line(s) to BROKERING"
    assert OrderLine.objects.get(pk=line.pk).queue == "BROKERING"
    with pytest.raises(CommandError, match="Unknown order"):
        call_command("release_lines", "--order", "#nope")
    with pytest.raises(CommandError, match="--order"):
        call_command("release_lines", "--force")
