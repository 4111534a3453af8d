"""Probes for a load balancer or an orchestrator: /healthz (this process answers) and /readyz (it can work).

Neither needs a login and neither shows anything but the state of each dependency. /readyz answers 503 with
what is down, so a balancer stops sending traffic to a web process that cannot reach the database.
"""

from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from oms.celery import app as celery_app
from oms.models import Heartbeat

WORKER = "worker"


def heartbeat_record(*, name: str = WORKER, now=None) -> None:
    """Record that `name` did its periodic work now (the worker, from the beat-scheduled heartbeat task)."""
    Heartbeat.objects.update_or_create(name=name, defaults={"at": now or timezone.now()})


@never_cache
@require_GET
def healthz(request):
    """The process is up and answers: no database, no broker."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request):
    """The database answers, the broker accepts a connection, and a worker ran the heartbeat task recently."""
    checks = {"database": _database(), "broker": _broker()}
    checks["worker"] = _worker() if checks["database"] == "ok" else "unknown: the database is down"
    ready = all(value == "ok" for value in checks.values())
    return JsonResponse({"status": "ok" if ready else "unavailable", "checks": checks}, status=200 if ready else 503)


def _database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any driver error means "down"; the probe must answer, not raise
        return f"down: {type(exc).__name__}"
    return "ok"


def _broker() -> str:
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=settings.READYZ_TIMEOUT_SECONDS)
    except Exception as exc:
        return f"down: {type(exc).__name__}"
    return "ok"


def _worker() -> str:
    beat = Heartbeat.objects.filter(name=WORKER).values_list("at", flat=True).first()
    if beat is None:
        return "down: no worker has run the heartbeat task yet"
    age = timezone.now() - beat
    if age > timedelta(seconds=settings.READYZ_WORKER_MAX_AGE_SECONDS):
        return f"down: last heartbeat {int(age.total_seconds())} s ago"
    return "ok"
