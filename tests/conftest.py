"""Shared fixtures: factories, users per role, and one real Celery worker per test session."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
# The session's worker is named after this process, so other sessions' workers on the broker are left alone.
WORKER_NAME = f"storefill-test-{os.getpid()}@{os.uname().nodename}"


def _database_url_for(settings_dict: dict) -> str:
    user = settings_dict.get("USER") or "postgres"
    password = settings_dict.get("PASSWORD") or ""
    auth = f"{user}:{password}@" if password else f"{user}@"
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or 5432
    return f"postgres://{auth}{host}:{port}/{settings_dict['NAME']}"


@pytest.fixture(scope="session")
def celery_worker(django_db_setup, django_db_blocker):
    """A real `celery worker` process on Redis, pointed at the test database.

    Tests that use it must be transactional (`@pytest.mark.django_db(transaction=True)`) so the
    worker sees their rows. The queue is purged first so a previous session's leftovers never run.
    """
    from django.db import connection

    from oms.celery import app

    ARTIFACTS.mkdir(exist_ok=True)
    app.control.purge()
    env = dict(os.environ)
    env["DJANGO_SETTINGS_MODULE"] = "oms.test_settings"
    env["DATABASE_URL"] = _database_url_for(connection.settings_dict)
    log = open(ARTIFACTS / "celery-worker.log", "ab")
    hostname = WORKER_NAME
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "oms", "worker", "--loglevel=INFO", "--concurrency=2",
         "--pool=prefork", "--without-gossip", "--without-mingle", f"--hostname={hostname}"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    name = WORKER_NAME
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"celery worker exited with {process.returncode}; see test-artifacts/celery-worker.log")
        replies = app.control.ping(destination=[name], timeout=0.5) or []
        if replies:
            break
    else:
        process.terminate()
        raise RuntimeError("celery worker did not answer within 60 s")
    yield process
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()


def worker_idle() -> bool:
    """No task running or prefetched on the session's worker, and none left in the broker queue."""
    from oms.celery import app

    inspect = app.control.inspect(destination=[WORKER_NAME], timeout=1)
    active, reserved = inspect.active(), inspect.reserved()
    if active is None or reserved is None:  # no answer in time: cannot tell yet
        return False
    busy = any(tasks for reply in (active, reserved) for tasks in reply.values())
    with app.connection_for_write() as conn:
        waiting = conn.default_channel.queue_declare(queue=app.conf.task_default_queue).message_count
    return not busy and waiting == 0


def wait_for(predicate, *, timeout: float = 20.0, interval: float = 0.1, message: str = "condition"):
    """Poll `predicate` until it returns something truthy (used while the worker does its part)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}")


@pytest.fixture
def operations_user(db):
    from stores.access import operations_group
    from tests.factories import UserFactory

    user = UserFactory(username="ops")
    user.groups.add(operations_group())
    return user


@pytest.fixture(autouse=True)
def store_defaults(request):
    """The short-pick reasons and box types the migrations seed, for every database test.

    Transactional tests flush every table when they end, migration data included, so a later test
    would otherwise find no reasons or boxes depending on the order the tests ran in.
    """
    if request.node.get_closest_marker("django_db") is None:
        return
    request.getfixturevalue("django_db_setup")
    from fulfillment.defaults import store_defaults_ensure

    with request.getfixturevalue("django_db_blocker").unblock():
        store_defaults_ensure()
