"""/healthz and /readyz: no login, nothing but each dependency's state; 503 naming what is down."""

from datetime import timedelta

import pytest
from django.utils import timezone

from oms import health
from oms.models import Heartbeat
from oms.tasks import worker_heartbeat


@pytest.mark.django_db
def test_healthz_answers_without_the_database(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_is_ready_with_a_recent_heartbeat(client):
    worker_heartbeat()  # what a worker runs when beat sends it
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "broker": "ok", "worker": "ok"}}


@pytest.mark.django_db
def test_readyz_without_a_worker_says_so(client):
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["worker"].startswith("down: no worker")


@pytest.mark.django_db
def test_readyz_with_a_stale_heartbeat_says_how_old(client, settings):
    stale = timedelta(seconds=settings.READYZ_WORKER_MAX_AGE_SECONDS + 5)
    Heartbeat.objects.create(name="worker", at=timezone.now() - stale)
    body = client.get("/readyz").json()
    assert body["status"] == "unavailable" and "s ago" in body["checks"]["worker"]


@pytest.mark.django_db
def test_readyz_with_the_broker_down_says_so(client, monkeypatch):
    worker_heartbeat()

    def refused(*args, **kwargs):
        raise ConnectionRefusedError("nothing listens")

    monkeypatch.setattr(health.celery_app, "connection_for_write", refused)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "ok", "broker": "down: ConnectionRefusedError", "worker": "ok"}


@pytest.mark.django_db
def test_readyz_with_the_database_down_answers_503(client, monkeypatch):
    monkeypatch.setattr(health, "_database", lambda: "down: OperationalError")
    body = client.get("/readyz").json()
    assert body["status"] == "unavailable" and body["checks"]["worker"].startswith("unknown")


def test_probes_refuse_writes(client):
    assert client.post("/healthz").status_code == 405
