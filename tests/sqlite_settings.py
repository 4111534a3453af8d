"""Settings for running tests on the demo's embedded defaults: a SQLite file and kombu's filesystem transport.

tests/test_sqlite_side.py runs chosen tests under them in a subprocess
(`pytest --ds=tests.sqlite_settings --create-db …`); STOREFILL_VAR_DIR says where the files go.
"""

import os
from pathlib import Path

os.environ.setdefault("STOREFILL_VAR_DIR", str(Path(__file__).resolve().parent.parent / "var" / "test-sqlite"))
os.environ["DATABASE_URL"] = f"sqlite:///{Path(os.environ['STOREFILL_VAR_DIR']) / 'storefill.sqlite3'}"
os.environ["CELERY_BROKER_URL"] = "filesystem://"

from oms.test_settings import *  # noqa: E402,F403
from oms.test_settings import DATABASES, VAR_DIR  # noqa: E402

# The test database is a file too (not pytest-django's in-memory default): WAL and IMMEDIATE writes, as the demo.
DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-storefill.sqlite3")}
