"""Settings for the test suite: PostgreSQL and a real Celery worker on Redis, with short timeouts."""

import os
from pathlib import Path

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/storefill")
os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")
# A task whose worker died is redelivered after a few seconds, not an hour.
os.environ.setdefault("CELERY_VISIBILITY_TIMEOUT", "5")
os.environ.setdefault("STOREFILL_RETRY_BACKOFF", "0.2")
# Outbox retries: 0.1–0.2 s, doubling, never more than 2 s apart (a shop outage in a test lasts seconds).
os.environ.setdefault("OUTBOX_MAX_BACKOFF", "2")
os.environ.setdefault("LOG_LEVEL", "WARNING")
# The test process's own cache (tests clear it); the broker's Redis is not touched by cache.clear().
os.environ.setdefault("CACHE_URL", "locmem://")
# Files the tests and the session's worker share (feed drops): apart from the demo's var/.
os.environ.setdefault("STOREFILL_VAR_DIR", str(Path(__file__).resolve().parent.parent / "var" / "test"))

from oms.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
