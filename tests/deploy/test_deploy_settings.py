"""The production settings pass Django's deployment checklist; production refuses to start half-configured."""

import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT
from tests.deploy.conftest import SECRET

pytestmark = pytest.mark.slow


def run(command: list[str], **env) -> subprocess.CompletedProcess:
    full = {key: value for key, value in os.environ.items()
            if key not in {"SECRET_KEY", "DEBUG", "ALLOWED_HOSTS", "DATABASE_URL", "CELERY_BROKER_URL"}
            and not key.startswith(("PYTEST", "DJANGO_"))}
    full.update(env)
    return subprocess.run(command, cwd=ROOT, env=full, capture_output=True, text=True, timeout=120)


def test_check_deploy_passes_at_warning_level():
    result = run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                 DEBUG="0", SECRET_KEY=SECRET, ALLOWED_HOSTS="storefill.example.com")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_debug_off_without_allowed_hosts_refuses_to_start():
    result = run([sys.executable, "manage.py", "check"], DEBUG="0", SECRET_KEY=SECRET)
    assert result.returncode != 0 and "ALLOWED_HOSTS must be set" in result.stderr


@pytest.mark.parametrize("env, says", [
    ({}, "SECRET_KEY is not set"),
    ({"SECRET_KEY": SECRET}, "ALLOWED_HOSTS is not set"),
    ({"SECRET_KEY": SECRET, "ALLOWED_HOSTS": "a.example"}, "DATABASE_URL must point at PostgreSQL"),
    ({"SECRET_KEY": SECRET, "ALLOWED_HOSTS": "a.example", "DATABASE_URL": "sqlite:///x.sqlite3"},
     "DATABASE_URL must point at PostgreSQL"),
    ({"SECRET_KEY": SECRET, "ALLOWED_HOSTS": "a.example", "DATABASE_URL": "postgres://u@127.0.0.1/x",
      "CELERY_BROKER_URL": "filesystem://"}, "CELERY_BROKER_URL must point at Redis"),
])
def test_serve_prod_refuses_to_start_half_configured(env, says):
    result = run(["scripts/serve-prod"], **env)
    assert result.returncode == 2
    assert says in result.stderr


def test_serve_prod_refuses_a_database_with_migrations_to_apply(tmp_path):
    """A fresh PostgreSQL database: nothing migrated, so nothing starts (and nothing is migrated behind one's back)."""
    name = f"storefill_unmigrated_{os.getpid()}"
    subprocess.run(["psql", "postgres://postgres@127.0.0.1:5432/postgres", "-qc", f'CREATE DATABASE "{name}"'],
                   check=True, capture_output=True)
    try:
        result = run(["scripts/serve-prod"], SECRET_KEY=SECRET, ALLOWED_HOSTS="a.example",
                     DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{name}",
                     CELERY_BROKER_URL="redis://127.0.0.1:6379/0", STOREFILL_VAR_DIR=str(tmp_path))
        assert result.returncode == 2
        assert "migrations to apply" in result.stderr
    finally:
        subprocess.run(["psql", "postgres://postgres@127.0.0.1:5432/postgres", "-qc", f'DROP DATABASE "{name}"'],
                       capture_output=True)
