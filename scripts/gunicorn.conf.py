"""gunicorn's settings for Storefill (scripts/serve-prod): threads, because a request mostly waits on PostgreSQL.

Every value comes from the environment (docs/deploy.md): WEB_WORKERS (default: 2 per core, at least 2),
WEB_THREADS (default 4), BIND (default 127.0.0.1:8000), WEB_TIMEOUT (seconds, default 30).
"""

import multiprocessing
import os

wsgi_app = "oms.wsgi:application"
bind = os.environ.get("BIND", "127.0.0.1:8000")
worker_class = "gthread"
workers = int(os.environ.get("WEB_WORKERS", max(2, 2 * multiprocessing.cpu_count())))
threads = int(os.environ.get("WEB_THREADS", "4"))
timeout = int(os.environ.get("WEB_TIMEOUT", "30"))
graceful_timeout = 20
keepalive = 5
# A worker is replaced after this many requests (plus jitter), so a slow leak never grows unbounded.
max_requests = int(os.environ.get("WEB_MAX_REQUESTS", "2000"))
max_requests_jitter = max_requests // 10
# Request line and headers: gunicorn's limits (the body's are Django's, see oms/security.py).
limit_request_line = 8190
limit_request_fields = 100
accesslog = os.environ.get("WEB_ACCESS_LOG", "-") or None  # empty: no access log
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
# Only the proxy in front may say a request came over HTTPS (SECURE_PROXY_SSL_HEADER trusts that header).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
