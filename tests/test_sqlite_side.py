"""The demo's database, SQLite, runs what PostgreSQL runs: chosen tests run again under tests/sqlite_settings.py
(a SQLite file and kombu's filesystem transport, as `make demo`), in a subprocess.

Each `connection.vendor` branch and each read written with vendor SQL in mind has its SQLite side here:
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
SQLITE_SIDE = [
    # every URL, every role, on the demo after a working day (the selectors, hand-over and stock code below too)
    "tests/test_url_walk.py",
    # oms/console/network/selectors.py: the newest rejection, decision and note per order; a run's error count
    "tests/console/network/test_queues.py", "tests/console/network/test_runs.py",
    # fulfillment/handover.py: a scan of a voided tracking number
    "tests/fulfillment/test_handover.py::test_a_scan_of_a_voided_label_says_so",
    "tests/fulfillment/test_handover_views.py::test_a_bad_scan_is_an_alert_in_the_message_area",
    # stores/stock.py: locking, counting and moving stock without PostgreSQL's row locks and COPY
    "tests/stores/test_stock.py", "tests/stores/test_stock_counts.py",
    # oms/db.py (rows_insert, ids_in, Alongside), oms/routing/apply.py, load.py and runs.py: a brokering run
    "tests/oms/routing/test_apply.py", "tests/oms/routing/test_load.py", "tests/oms/routing/test_runs.py",
    # oms/shop/importer.py: no advisory lock (SQLite serializes writers)
    "tests/oms/shop/test_shop_import.py",
    # oms/routing/bench/: the benchmark refuses SQLite; the demo database's WAL mode
    "tests/sqlite/test_demo_database.py",
]


def test_the_chosen_tests_pass_on_the_demos_sqlite(tmp_path):
    env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "CELERY_BROKER_URL")}
    env |= {"STOREFILL_VAR_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "tests.sqlite_settings"}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--ds=tests.sqlite_settings", "--create-db", "-q", "-p", "no:randomly",
         "-m", "not celery and not browser", *SQLITE_SIDE],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=400,
    )
    assert result.returncode == 0, f"on SQLite:\n{result.stdout[-6000:]}\n{result.stderr[-2000:]}"
