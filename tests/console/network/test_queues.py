"""Queues: counts per queue, a queue's lines, moving lines to hold (ticked or by CSV), releasing, running now."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

import oms.console.network.services
from oms.models import LineRejection, OrderLine, OrderNote, RoutingDecision
from tests.console.network.helpers import finished_run, queued, stock
from tests.factories import FacilityFactory, ProductFactory

pytestmark = pytest.mark.django_db


def test_queues_page_counts_lines_units_and_oldest_per_queue(ops_client):
    queued(quantity=2, hours_ago=5)
    queued(quantity=3, hours_ago=1)
    queued(queue="UNFILLABLE", quantity=4)
    queued(quantity=1, hours_ago=2)

    response = ops_client.get("/console/queues/")

    page = response.content.decode()
    assert response.status_code == 200
    rows = {row.queue: row for row in response.context["queues"]}
    assert (rows["BROKERING"].lines, rows["BROKERING"].units) == (3, 6)
    assert (rows["UNFILLABLE"].lines, rows["UNFILLABLE"].units) == (1, 4)
    assert rows["PRE_ORDER"].lines == 0 and rows["PRE_ORDER"].oldest_at is None
    assert 'href="/console/queues/UNFILLABLE/"' in page


def test_queue_page_lists_its_lines_with_order_link_age_and_auto_cancel_date(ops_client):
    cancel_at = timezone.now() + timedelta(days=3)
    line = queued(queue="UNFILLABLE", auto_cancel_at=cancel_at, hours_ago=26)
    queued(queue="BROKERING")
    RoutingDecision.objects.create(order=line.order, outcome="PARKED", created_at=timezone.now(), details={
        "parked": [{"line_id": line.pk, "quantity": 1, "queue": "UNFILLABLE"}], "fences": {"STOCK": 3}})

    response = ops_client.get("/console/queues/UNFILLABLE/")

    page = response.content.decode()
    assert response.status_code == 200
    assert list(response.context["page"].object_list) == [line]
    assert f'href="/console/orders/{line.order.pk}/"' in page and line.order.name in page
    assert line.sku in page
    assert "1\xa0day, 2\xa0hours" in page
    assert timezone.localtime(cancel_at).strftime("%Y-%m-%d %H:%M") in page
    assert "1 unit parked in UNFILLABLE. 3 facilities out: 3 no stock." in page


def test_an_unknown_queue_is_404(ops_client):
    assert ops_client.get("/console/queues/NOWHERE/").status_code == 404
    assert ops_client.post("/console/queues/NOWHERE/hold/", {"reason": "x", "lines": ["1"]}).status_code == 404


def test_queue_page_queries_do_not_grow_with_its_lines(ops_client):
    counts = []
    for count in (2, 50):
        OrderLine.objects.all().delete()
        for _ in range(count):
            line = queued(queue="UNFILLABLE")
            RoutingDecision.objects.create(order=line.order, outcome="PARKED", created_at=timezone.now(), details={})
        with CaptureQueriesContext(connection) as queries:
            assert ops_client.get("/console/queues/UNFILLABLE/").status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]


def _waiting_with_two_reasons(queue: str, facility, now) -> None:
    """A line in `queue` whose order has an older and a newer reason (rejection, or note naming the queue)."""
    line = queued(queue=queue)
    for age, word in ((2, "older"), (1, "newer")):
        at = now - timedelta(hours=age)
        if queue == "UNFILLABLE_HOLD":
            OrderNote.objects.create(order=line.order, text=f"{word}: moved to {queue}", at=at)
        else:
            LineRejection.objects.create(order=line.order, order_line=line, facility=facility, reason_text=word,
                                         quantity=1, created_at=at)


@pytest.mark.parametrize("queue", ["REJECTED", "BOPIS_REJECTED", "UNFILLABLE_HOLD"])
def test_a_queue_page_shows_each_lines_newest_reason_in_the_same_queries_for_2_and_50_lines(ops_client, queue):
    facility, now, counts = FacilityFactory(code="REJ-01"), timezone.now(), []
    for count in (2, 50):
        OrderLine.objects.all().delete()
        for _ in range(count):
            _waiting_with_two_reasons(queue, facility, now)
        with CaptureQueriesContext(connection) as queries:
            page = ops_client.get(f"/console/queues/{queue}/").content.decode()
        counts.append(len(queries))
        assert page.count("newer") == count and "older" not in page
    assert counts[0] == counts[1]


def test_ticked_lines_move_to_hold_with_the_reason_on_the_timeline(ops_client, operations_user):
    first, second, other = (queued(queue="UNFILLABLE") for _ in range(3))

    response = ops_client.post("/console/queues/UNFILLABLE/hold/",
                               {"lines": [first.pk, second.pk], "reason": "supplier delivery next week"}, follow=True)

    assert response.status_code == 200
    assert "Moved 2 line(s) of 2 order(s) to UNFILLABLE_HOLD." in response.content.decode()
    assert [OrderLine.objects.get(pk=line.pk).queue for line in (first, second, other)] == [
        "UNFILLABLE_HOLD", "UNFILLABLE_HOLD", "UNFILLABLE"]
    note = OrderNote.objects.get(order=first.order)
    assert "supplier delivery next week" in note.text and note.actor == operations_user
    assert list(response.context["page"].object_list) == [other]


def test_moving_to_hold_without_a_reason_is_refused_next_to_the_field(ops_client):
    line = queued(queue="UNFILLABLE")

    response = ops_client.post("/console/queues/UNFILLABLE/hold/", {"lines": [line.pk], "reason": ""})

    assert response.status_code == 400
    assert response.context["hold_form"].errors["reason"] == ["Give a reason: it is shown on each order's timeline."]
    assert "Give a reason" in response.content.decode()
    assert OrderLine.objects.get(pk=line.pk).queue == "UNFILLABLE"


def test_moving_to_hold_without_ticked_lines_is_refused(ops_client):
    response = ops_client.post("/console/queues/UNFILLABLE/hold/", {"reason": "why not"})

    assert response.status_code == 400
    assert "Tick at least one line to move." in response.content.decode()


def test_hold_is_only_offered_and_accepted_for_unfillable_lines(ops_client):
    line = queued(queue="BROKERING")

    assert "Move ticked lines to hold" not in ops_client.get("/console/queues/BROKERING/").content.decode()
    response = ops_client.post("/console/queues/BROKERING/hold/", {"lines": [line.pk], "reason": "x"})

    assert response.status_code == 400
    assert OrderLine.objects.get(pk=line.pk).queue == "BROKERING"


def test_csv_upload_moves_the_named_orders_and_reports_the_rows_it_refused(ops_client):
    held = queued(queue="UNFILLABLE")
    waiting = queued(queue="BROKERING")
    text = f"order\n{held.order.name}\n\n{waiting.order.name}\n#NOPE\n"
    upload = SimpleUploadedFile("hold.csv", text.encode(), content_type="text/csv")

    response = ops_client.post("/console/queues/UNFILLABLE/hold-csv/", {"file": upload, "reason": "recall"})

    page = response.content.decode()
    assert response.status_code == 200
    assert OrderLine.objects.get(pk=held.pk).queue == "UNFILLABLE_HOLD"
    assert OrderLine.objects.get(pk=waiting.pk).queue == "BROKERING"
    report = response.context["report"]
    assert report.lines_moved == 1 and report.bad_rows == [(3, "empty row")]
    assert "Upload report" in page and "row 3" in page and "empty row" in page
    assert "#NOPE" in page and "no such order" in page
    assert waiting.order.name in page and "nothing of it waits in UNFILLABLE" in page


def test_csv_without_an_order_column_moves_nothing_and_says_why(ops_client):
    line = queued(queue="UNFILLABLE")
    upload = SimpleUploadedFile("hold.csv", f"name\n{line.order.name}\n".encode(), content_type="text/csv")

    response = ops_client.post("/console/queues/UNFILLABLE/hold-csv/", {"file": upload, "reason": "recall"})

    assert "header missing: no &#x27;order&#x27; or &#x27;order_name&#x27; column" in response.content.decode()
    assert OrderLine.objects.get(pk=line.pk).queue == "UNFILLABLE"


def test_csv_upload_without_a_reason_or_file_is_refused_next_to_the_fields(ops_client):
    response = ops_client.post("/console/queues/UNFILLABLE/hold-csv/", {"reason": ""})

    assert response.status_code == 400
    errors = response.context["csv_form"].errors
    assert set(errors) == {"file", "reason"}


def test_release_due_sends_waiting_lines_with_stock_to_brokering(ops_client):
    store, product = FacilityFactory(), ProductFactory()
    stock(store, product, 5)
    waiting = queued(queue="BACKORDER", product=product, kind="BACKORDER")
    stuck = queued(queue="PRE_ORDER", product=ProductFactory(), kind="PRE_ORDER")

    response = ops_client.post("/console/queues/BACKORDER/release/", {"mode": "due", "confirm": "on"}, follow=True)

    assert "Released 1 line(s) to BROKERING." in response.content.decode()
    assert OrderLine.objects.get(pk=waiting.pk).queue == "BROKERING"
    assert OrderLine.objects.get(pk=stuck.pk).queue == "PRE_ORDER"


def test_release_chosen_needs_a_reason_and_then_releases_those_orders(ops_client):
    line = queued(queue="PRE_ORDER", product=ProductFactory(), kind="PRE_ORDER")

    refused = ops_client.post("/console/queues/PRE_ORDER/release/",
                              {"mode": "chosen", "lines": [line.pk], "confirm": "on"})
    assert refused.status_code == 400
    assert "Give a reason for releasing by hand" in refused.content.decode()
    assert OrderLine.objects.get(pk=line.pk).queue == "PRE_ORDER"

    response = ops_client.post("/console/queues/PRE_ORDER/release/",
                               {"mode": "chosen", "lines": [line.pk], "confirm": "on", "reason": "launch moved"},
                               follow=True)
    assert "Released 1 line(s) to BROKERING." in response.content.decode()
    assert OrderLine.objects.get(pk=line.pk).queue == "BROKERING"
    assert "launch moved" in OrderNote.objects.get(order=line.order).text


def test_release_without_confirming_is_refused(ops_client):
    line = queued(queue="PRE_ORDER", kind="PRE_ORDER")

    response = ops_client.post("/console/queues/PRE_ORDER/release/", {"mode": "due"})

    assert response.status_code == 400
    assert "Tick the box to confirm the release." in response.content.decode()
    assert OrderLine.objects.get(pk=line.pk).queue == "PRE_ORDER"


def test_run_now_queues_the_brokering_task_on_commit(ops_client, operations_user, monkeypatch,
                                                     django_capture_on_commit_callbacks):
    asked = []
    monkeypatch.setattr(oms.console.network.services.broker_queue, "delay", lambda **kwargs: asked.append(kwargs))

    with django_capture_on_commit_callbacks(execute=True):
        response = ops_client.post("/console/queues/REJECTED/run/", {"confirm": "on"}, follow=True)

    assert asked == [{"queue": "REJECTED", "trigger": "console", "actor_id": operations_user.pk}]
    assert "A brokering run of REJECTED was queued" in response.content.decode()


def test_a_run_asked_for_from_the_console_records_who_asked(operations_user):
    from oms.models import BrokeringRun
    from oms.tasks import broker_queue

    broker_queue(queue="REJECTED", trigger="console", actor_id=operations_user.pk)  # what the worker runs

    run = BrokeringRun.objects.get()
    assert (run.queue, run.trigger, run.actor) == ("REJECTED", "console", operations_user)


def test_run_now_needs_confirmation(ops_client, monkeypatch):
    asked = []
    monkeypatch.setattr(oms.console.network.services.broker_queue, "delay", lambda **kwargs: asked.append(kwargs))

    response = ops_client.post("/console/queues/BROKERING/run/", {})

    assert response.status_code == 400 and asked == []
    assert "Tick the box to confirm" in response.content.decode()


def test_run_now_is_refused_while_a_run_of_the_queue_is_running(ops_client, monkeypatch):
    asked = []
    monkeypatch.setattr(oms.console.network.services.broker_queue, "delay", lambda **kwargs: asked.append(kwargs))
    finished_run(queue="BROKERING", status="RUNNING", minutes_ago=1)

    page = ops_client.get("/console/queues/BROKERING/").content.decode()
    assert "A run of BROKERING is running" in page

    response = ops_client.post("/console/queues/BROKERING/run/", {"confirm": "on"})
    assert response.status_code == 409 and asked == []
    assert "A run of BROKERING is running: no second run was started." in response.content.decode()


def test_run_now_is_refused_for_a_queue_runs_do_not_take(ops_client):
    response = ops_client.post("/console/queues/PRE_ORDER/run/", {"confirm": "on"})

    assert response.status_code == 400
    assert "Brokering runs take lines from" in response.content.decode()
