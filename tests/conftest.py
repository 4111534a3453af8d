"""Shared fixtures: factories, users per role, one real Celery worker and one SMTP server per test session."""

import asyncio
import email
import os
import socket
import subprocess
import sys
import threading
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


class SmtpServer:
    """A local SMTP server (aiosmtpd) owned by the tests: it keeps every message it accepts.

    `refuse[address] = "550 …"` answers RCPT TO for that address so. `hold_for = address` keeps the next message
    to that address and then holds the answer to its DATA until `release()`: a sender killed meanwhile has
    handed the message over without hearing that it was accepted.
    """

    def __init__(self, port: int):
        self.port = port
        self.messages: list[email.message.Message] = []
        self.refuse: dict[str, str] = {}
        self.hold_for: str | None = None
        self.held = threading.Event()
        self.released = threading.Event()

    def reset(self) -> None:
        self.messages.clear()
        self.refuse.clear()
        self.hold_for = None
        self.held.clear()
        self.released.clear()

    def release(self) -> None:
        self.released.set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.original_content or envelope.content))
        if self.hold_for is not None and self.hold_for in envelope.rcpt_tos:
            self.hold_for = None
            self.held.set()
            while not self.released.is_set():
                await asyncio.sleep(0.05)
        return "250 Message accepted for delivery"


@pytest.fixture(scope="session")
def smtp_server():
    """The session's SMTP server on a free local port; the Celery workers send customer emails to it."""
    from aiosmtpd.controller import Controller

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = SmtpServer(port)
    controller = Controller(server, hostname="127.0.0.1", port=port)
    controller.start()
    yield server
    server.release()
    controller.stop()


def worker_environment(*, smtp_port: int, shop_url: str | None = None) -> dict:
    """The environment of a test worker: the test database and settings, customer emails to the SMTP server,
    and — given `shop_url` — shop messages to a fake shop (tests/fake_shop.py) that answers within 1 s or is
    taken as timed out."""
    from django.db import connection

    from tests.fake_shop import SECRET

    env = dict(os.environ)
    env["DJANGO_SETTINGS_MODULE"] = "oms.test_settings"
    env["DATABASE_URL"] = _database_url_for(connection.settings_dict)
    env["OUTBOX_EMAIL_BACKEND"] = "django.core.mail.backends.smtp.EmailBackend"
    env["EMAIL_HOST"], env["EMAIL_PORT"] = "127.0.0.1", str(smtp_port)
    env["OUTBOX_EMAIL_MODULES"] = "tests.oms.outbox.test_outbox_worker"  # its test-only email kind
    if shop_url:
        env["OUTBOX_ADAPTERS"] = "EMAIL=oms.outbox.email.EmailAdapter,SHOP=oms.outbox.shop_webhook.ShopWebhookAdapter"
        env["SHOP_SYNC_URL"], env["SHOP_SYNC_SECRET"], env["SHOP_SYNC_TIMEOUT"] = shop_url, SECRET, "1"
    return env


@pytest.fixture(scope="session")
def fake_shop():
    """The session's stand-in for the shop's sync webhook (tests/fake_shop.py); the session's worker sends to it."""
    from tests.fake_shop import FakeShop

    shop = FakeShop()
    yield shop
    shop.release.set()
    shop.stop()


@pytest.fixture
def shop_sync(settings, fake_shop):
    """This process delivers SHOP messages to the session's fake shop too (outbox_write kicks for them)."""
    from tests.fake_shop import SECRET

    fake_shop.reset()
    settings.OUTBOX_ADAPTERS = {**settings.OUTBOX_ADAPTERS, "SHOP": "oms.outbox.shop_webhook.ShopWebhookAdapter"}
    settings.SHOP_SYNC_URL, settings.SHOP_SYNC_SECRET, settings.SHOP_SYNC_TIMEOUT = fake_shop.url, SECRET, 1.0
    yield fake_shop
    fake_shop.release.set()
    if fake_shop._server is None:
        fake_shop.start()


@pytest.fixture(scope="session")
def celery_worker(django_db_setup, django_db_blocker, smtp_server, fake_shop):
    """A real `celery worker` process on Redis, pointed at the test database and the session's SMTP server.

    Tests that use it must be transactional (`@pytest.mark.django_db(transaction=True)`) so the
    worker sees their rows. The queue is purged first so a previous session's leftovers never run.
    """
    from oms.celery import app

    ARTIFACTS.mkdir(exist_ok=True)
    app.control.purge()
    env = worker_environment(smtp_port=smtp_server.port, shop_url=fake_shop.url)
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


@pytest.fixture(autouse=True)
def outbox_kicks_stay_home(request, monkeypatch):
    """Outside the tests that use the real worker, the outbox's on-commit kick goes to a broker that is not there.

    A transactional test's commits would otherwise kick the session's worker (if an earlier test started it),
    which then delivers this test's messages behind its back — and may still hold row locks when the test's
    database flush comes, which deadlocks. The kick's code still runs (and fails the way a broker outage does).
    """
    if request.node.get_closest_marker("celery"):
        return
    from celery import Celery

    from oms.outbox import messages as outbox

    nowhere = Celery("no-worker-here", set_as_current=False)
    nowhere.conf.broker_write_url = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    monkeypatch.setattr(outbox, "celery_app", nowhere)
