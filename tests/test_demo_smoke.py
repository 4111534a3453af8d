"""Smoke tests of the demo as `make demo` runs it: SQLite, the commands, and scripts/demo-serve with its worker."""

import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from oms.demo.world import catalog_items

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
DB_FILE = "storefill.sqlite3"
COUNTS = """
import json
from django.contrib.auth import get_user_model
from django.db.models import Sum
from oms.models import Order, OrderLine, Product, ShopWebhook
from stores.models import Facility, InventoryAdjustment, StockLevel, StoreMembership
models = (Facility, Product, StockLevel, InventoryAdjustment, get_user_model(), StoreMembership, Order, OrderLine,
          ShopWebhook)
counts = {model.__name__: model.objects.count() for model in models}
counts["on_hand"] = StockLevel.objects.aggregate(total=Sum("on_hand"))["total"]
print(json.dumps(counts))
"""


def demo_env(var_dir: Path, **extra: str) -> dict:
    """The environment `make demo` runs in: no PostgreSQL or Redis, everything under var_dir."""
    env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "CELERY_BROKER_URL")}
    return env | {"DJANGO_SETTINGS_MODULE": "oms.settings", "STOREFILL_VAR_DIR": str(var_dir)} | extra


def manage(var_dir: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=demo_env(var_dir), capture_output=True, text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, f"manage.py {' '.join(args)} exited {result.returncode}:\n{result.stderr[-3000:]}"
    return result


def world_counts(var_dir: Path) -> dict:
    return json.loads(manage(var_dir, "shell", "-v", "0", "-c", COUNTS).stdout.strip().splitlines()[-1])


def shop_order(order_id: int, sku: str) -> dict:
    """A paid ship order that passes approval."""
    address = {"name": "Grace Hopper", "address1": "1 Infinite Loop", "city": "Chicago", "zip": "60611",
               "province_code": "IL", "country_code": "US", "latitude": 41.89, "longitude": -87.62}
    return {
        "id": order_id, "name": f"#S{order_id}", "email": "grace@example.com", "financial_status": "paid",
        "created_at": "2026-11-20T10:00:00-06:00", "currency": "USD", "total_price": "24.00", "tags": "",
        "customer": {"first_name": "Grace", "last_name": "Hopper", "email": "grace@example.com"},
        "shipping_address": address, "billing_address": address,
        "line_items": [{"id": order_id * 10 + 1, "sku": sku, "title": "Smoke test item", "quantity": 1,
                        "price": "24.00", "properties": []}],
    }


@pytest.fixture(scope="module")
def seeded_template(tmp_path_factory) -> Path:
    """A migrated and seeded demo database, made once; each test works on its own copy."""
    var_dir = tmp_path_factory.mktemp("demo-template")
    manage(var_dir, "migrate", "--noinput", timeout=120)
    first = manage(var_dir, "seed_demo", timeout=120)
    assert "200 created" in first.stdout, first.stdout
    return var_dir / DB_FILE


@pytest.fixture
def demo_var(seeded_template, tmp_path) -> Path:
    # The seeding process has exited, so SQLite has folded its write-ahead log back into the file.
    shutil.copy(seeded_template, tmp_path / DB_FILE)
    return tmp_path


def test_demo_commands_run_on_sqlite_and_a_second_seed_changes_nothing(demo_var):
    before = world_counts(demo_var)
    again = manage(demo_var, "seed_demo")
    assert "200 duplicate" in again.stdout and "storefill-demo" in again.stdout
    assert world_counts(demo_var) == before

    approved = manage(demo_var, "approve_orders")
    assert "approved" in approved.stdout
    manage(demo_var, "check_stock_ledger")

    orders_file = demo_var / "orders.json"
    orders_file.write_text(json.dumps([shop_order(7_100_000_001, catalog_items()[0].sku)]))
    imported = manage(demo_var, "import_orders", str(orders_file))
    assert "created 1" in imported.stdout


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def demo_server(demo_var):
    """scripts/demo-serve on the copied database; the whole process group is killed afterwards."""
    port = free_port()
    log_path = demo_var / "demo-serve.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [str(ROOT / "scripts" / "demo-serve")], cwd=ROOT, env=demo_env(demo_var, PORT=str(port)),
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        yield f"http://127.0.0.1:{port}", process, log_path
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)
        # The worker children may outlive the script by a moment; make sure nothing of the group is left.
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def poll(predicate, *, timeout: float, what: str, log_path: Path, process: subprocess.Popen):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        result = predicate()
        if result:
            return result
        time.sleep(0.5)
    log = log_path.read_text(errors="replace")[-4000:]
    pytest.fail(f"{what} (demo-serve exit code {process.poll()}); its log ends with:\n{log}")


def login_page(base_url: str) -> str | None:
    try:
        with urllib.request.urlopen(f"{base_url}/accounts/login/", timeout=2) as response:
            return response.read().decode() if response.status == 200 else None
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None


def order_status(db_path: Path, external_id: str) -> str | None:
    with sqlite3.connect(db_path, timeout=10) as connection:
        row = connection.execute("SELECT status FROM oms_order WHERE external_id = ?", [external_id]).fetchone()
    return row[0] if row else None


def test_demo_serve_answers_the_login_page_and_its_worker_approves_a_queued_order(demo_var, demo_server):
    base_url, process, log_path = demo_server
    page = poll(lambda: login_page(base_url), timeout=30, what="no login page", log_path=log_path, process=process)
    assert "<form" in page and 'name="username"' in page and 'name="password"' in page

    external_id = "7100000002"
    orders_file = demo_var / "orders.json"
    orders_file.write_text(json.dumps([shop_order(int(external_id), catalog_items()[0].sku)]))
    manage(demo_var, "import_orders", str(orders_file))
    assert order_status(demo_var / DB_FILE, external_id) == "CREATED"
    manage(demo_var, "shell", "-v", "0", "-c", "from oms.tasks import approve_orders; approve_orders.delay()")

    poll(lambda: order_status(demo_var / DB_FILE, external_id) == "APPROVED", timeout=40,
         what=f"order {external_id} was not approved by the worker", log_path=log_path, process=process)


def group_environments(group_id: int) -> list[dict]:
    """The environment each process the group's leader started has (Linux's /proc), the leader left out."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) != group_id or int(stat.parent.name) == group_id:  # after the name: state, ppid, pgrp
                continue
            raw = (stat.parent / "environ").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        found.append(dict(item.split("=", 1) for item in raw.decode(errors="replace").split("\0") if "=" in item))
    return found


def test_demo_serve_builds_customer_links_on_the_port_it_serves(demo_var, demo_server):
    base_url, process, log_path = demo_server
    poll(lambda: login_page(base_url), timeout=30, what="no login page", log_path=log_path, process=process)
    environments = group_environments(process.pid)
    assert len(environments) >= 2  # its web server and its worker (with their children)
    assert {env.get("PUBLIC_BASE_URL") for env in environments} == {base_url}
