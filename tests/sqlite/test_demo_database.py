"""What only the demo's SQLite side does (collected under tests/sqlite_settings.py; skipped on PostgreSQL)."""

import pytest
from django.db import connection

from oms.routing.bench.benchmark import bench_database_guard
from oms.routing.bench.config import BenchError

pytestmark = [pytest.mark.django_db,
              pytest.mark.skipif(connection.vendor != "sqlite", reason="the demo's SQLite side only")]


def test_the_benchmark_refuses_the_demo_database():
    with pytest.raises(BenchError, match="needs PostgreSQL; the configured database is sqlite"):
        bench_database_guard(force=True)


def test_the_demo_database_is_a_file_in_wal_mode_with_immediate_writes():
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        assert cursor.fetchone()[0] == "wal"
    assert connection.settings_dict["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
