"""The console dashboard: today's numbers in the operator's zone, the per-hour chart, constant queries."""

import re
import zoneinfo
from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from fulfillment.models import PickJob
from oms.console.access import SESSION_ZONE_KEY
from oms.console.ops.selectors import dashboard_read
from oms.models import BrokeringRun, Order, OrderLine, TransitionLog
from tests.factories import FacilityFactory, OrderFactory, OrderLineFactory

pytestmark = pytest.mark.django_db

CHICAGO = zoneinfo.ZoneInfo("America/Chicago")


def log(order, transition, at, object_type="order"):
    TransitionLog.objects.create(object_type=object_type, object_id=order.pk, order=order, transition=transition,
                                 source_state="", target_state="", at=at)


def use_zone(client, name: str) -> None:
    session = client.session
    session[SESSION_ZONE_KEY] = name
    session.save()


def test_dashboard_counts_today_in_the_operators_zone_not_yesterday():
    now = datetime(2025, 3, 12, 15, 0, tzinfo=CHICAGO)
    today = [OrderFactory(received_at=now - timedelta(hours=h)) for h in (1, 2, 2)]
    # 23:30 yesterday in Chicago is already "today" in UTC: the operator's zone decides.
    yesterday = OrderFactory(received_at=datetime(2025, 3, 11, 23, 30, tzinfo=CHICAGO))
    log(today[0], "approve", now - timedelta(minutes=50))
    log(today[1], "approve", now - timedelta(minutes=50))
    log(yesterday, "approve", datetime(2025, 3, 11, 23, 40, tzinfo=CHICAGO))
    log(today[0], "allocate", now - timedelta(minutes=40), object_type="orderline")
    log(today[0], "allocate", now - timedelta(minutes=39), object_type="orderline")  # a second line: one order
    log(yesterday, "allocate", datetime(2025, 3, 11, 23, 50, tzinfo=CHICAGO), object_type="orderline")
    log(yesterday, "allocate", now - timedelta(minutes=30), object_type="orderline")  # re-routed: not new
    log(today[0], "complete", now - timedelta(minutes=10))
    log(today[2], "cancel", now - timedelta(minutes=5))

    board = dashboard_read(now=now, zone=CHICAGO)
    assert (board.orders_in, board.approved, board.routed, board.fulfilled, board.canceled) == (3, 2, 1, 1, 1)
    assert board.orders_per_hour[13] == 2 and board.orders_per_hour[14] == 1 and sum(board.orders_per_hour) == 3

    in_utc = dashboard_read(now=now, zone=zoneinfo.ZoneInfo("UTC"))
    assert in_utc.orders_in == 4 and in_utc.approved == 3


def test_dashboard_shows_queues_fill_rate_overdue_jobs_and_stopped_messages():
    now = timezone.now()
    OrderLineFactory(status=OrderLine.Status.QUEUED, queue=OrderLine.Queue.UNFILLABLE, queued_at=now)
    BrokeringRun.objects.create(queue="BROKERING", status="SUCCEEDED", started_at=now, heartbeat_at=now,
                                lines_considered=8, lines_allocated=6)
    BrokeringRun.objects.create(queue="REJECTED", status="SUCCEEDED", started_at=now, heartbeat_at=now,
                                lines_considered=2, lines_allocated=1)
    store = FacilityFactory(code="LAT-01")
    order = OrderFactory()
    request = order.fulfillment_requests.create(facility=store, number="X-1", created_at=now)
    for due in (now - timedelta(hours=1), now - timedelta(hours=3), now + timedelta(hours=2)):
        PickJob.objects.create(facility=store, order=order, fulfillment_request=request, due_at=due, created_at=now)

    board = dashboard_read(now=now, zone=CHICAGO)
    assert dict((q, n) for q, _, n in board.lines_per_queue)["UNFILLABLE"] == 1
    assert (board.runs, board.lines_allocated, board.lines_considered, board.fill_rate) == (2, 7, 10, 0.7)
    assert [(s.code, s.jobs) for s in board.overdue] == [("LAT-01", 2)]
    assert board.overdue[0].oldest_due.tzinfo.key == "America/Chicago"


def test_dashboard_page_draws_one_bar_per_hour_with_labels_and_counts(ops_client):
    use_zone(ops_client, "America/Chicago")
    now = timezone.now()
    for _ in range(3):
        OrderFactory(received_at=now)
    page = ops_client.get("/console/").content.decode()

    svg = page[page.index("<svg"):page.index("</svg>")]
    assert 'role="img"' in svg and "<title id=\"chart-title\">Orders received per hour today (America/Chicago)" in svg
    assert svg.count("<rect") == 24
    labels = re.findall(r'class="ops-chart-label"[^>]*>(\d\d)</text>', svg)
    assert labels == [f"{hour:02d}" for hour in range(24)]
    hour = f"{now.astimezone(CHICAGO).hour:02d}"
    assert re.search(r'class="ops-chart-count"[^>]*>3</text>', svg)
    assert f"<td>{hour}:00</td><td class=\"num\">3</td>" in page  # the numbers as a table too
    assert "America/Chicago" in page and "Orders in" in page
    assert '/console/queues/BROKERING/' in page and '/console/runs/' in page and '/console/outbox/' in page


def dashboard_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/console/").status_code == 200
    return len(queries)


def world(rows: int, now) -> None:
    store = FacilityFactory(code=f"Q-{rows}")
    for _ in range(rows):
        order = OrderFactory(received_at=now, status=Order.Status.APPROVED)
        OrderLineFactory(order=order, status=OrderLine.Status.QUEUED, queue=OrderLine.Queue.BROKERING, queued_at=now)
        log(order, "approve", now)
        request = order.fulfillment_requests.create(facility=store, number=f"{order.name}-1", created_at=now)
        PickJob.objects.create(facility=store, order=order, fulfillment_request=request,
                               due_at=now - timedelta(hours=1), created_at=now)
    BrokeringRun.objects.create(queue="BROKERING", status="SUCCEEDED", started_at=now, heartbeat_at=now,
                                lines_considered=rows, lines_allocated=rows)


def test_dashboard_queries_do_not_grow_with_the_orders(ops_client):
    now = timezone.now()
    world(2, now)
    few = dashboard_queries(ops_client)
    world(48, now)
    assert dashboard_queries(ops_client) == few
