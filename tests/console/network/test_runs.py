"""Brokering runs: the list (figures, filter, pages), a run's figures, errors and decisions in words."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from oms.models import BrokeringRun
from oms.routing.runs import brokering_run
from tests.console.network.helpers import decision, finished_run, queued, stock
from tests.factories import FacilityFactory, OrderFactory, ProductFactory

pytestmark = pytest.mark.django_db


def test_runs_list_shows_each_runs_figures_in_the_operators_time(ops_client):
    run = finished_run(queue="REJECTED", considered=8, allocated=6, parked=2,
                       errors=[{"order_id": 1, "order": "#1", "error": "boom"}])
    ops_client.post("/console/zone/", {"zone": "Asia/Tokyo", "next": "/console/runs/"})

    response = ops_client.get("/console/runs/")

    page = response.content.decode()
    row = response.context["page"].object_list[0]
    assert (row.pk, row.error_count) == (run.pk, 1)
    assert timezone.localtime(run.started_at, timezone.get_fixed_timezone(540)).strftime("%Y-%m-%d %H:%M:%S") in page
    assert "Times in Asia/Tokyo" in page
    assert "75 %" in page and "1\xa0minute" in page and "REJECTED" in page and "SUCCEEDED" in page


def test_runs_list_filters_by_queue(ops_client):
    brokering, rejected = finished_run(queue="BROKERING"), finished_run(queue="REJECTED")

    response = ops_client.get("/console/runs/", {"queue": "REJECTED"})

    assert [run.pk for run in response.context["page"].object_list] == [rejected.pk]
    assert brokering.pk != rejected.pk


def test_runs_list_queries_do_not_grow_with_the_runs(ops_client):
    counts = []
    for count in (2, 50):
        BrokeringRun.objects.all().delete()
        for number in range(count):
            finished_run(minutes_ago=number + 1, errors=[{"error": "x"}])
        with CaptureQueriesContext(connection) as queries:
            assert ops_client.get("/console/runs/").status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_run_page_shows_figures_errors_and_each_orders_decision_in_words(ops_client):
    store, product, missing = FacilityFactory(code="CHI-01", name="Chicago Loop"), ProductFactory(), ProductFactory()
    stock(store, product, 5)
    sent = queued(product=product)
    parked = queued(product=missing)
    run = brokering_run(queue="BROKERING", trigger="test")

    response = ops_client.get(f"/console/runs/{run.pk}/")

    page = response.content.decode()
    assert response.status_code == 200
    assert f"Run {run.pk} of BROKERING" in page and "50 %" in page
    assert f'href="/console/orders/{sent.order.pk}/"' in page and f'href="/console/orders/{parked.order.pk}/"' in page
    assert "Sent to Chicago Loop (score" in page
    assert "Nothing sent: 1 unit parked in UNFILLABLE." in page


def test_run_page_lists_the_runs_errors(ops_client):
    order = OrderFactory()
    run = finished_run(errors=[{"order_id": order.pk, "order": order.name, "error": "ValueError: bad address"}])

    page = ops_client.get(f"/console/runs/{run.pk}/").content.decode()

    assert "ValueError: bad address" in page and f'href="/console/orders/{order.pk}/"' in page


def test_an_unknown_run_is_404(ops_client):
    assert ops_client.get("/console/runs/999999/").status_code == 404


def test_run_page_queries_do_not_grow_with_its_decisions(ops_client):
    store = FacilityFactory()
    counts = []
    for count in (2, 50):
        run = finished_run()
        for _ in range(count):
            decision(run=run, order=OrderFactory(), facility=store)
        with CaptureQueriesContext(connection) as queries:
            response = ops_client.get(f"/console/runs/{run.pk}/")
        assert response.status_code == 200 and len(response.context["decisions"].object_list) == count
        counts.append(len(queries))
    assert counts[0] == counts[1]
