"""A production server of the tests' own: collectstatic, then gunicorn with DEBUG=0 on the test database."""

import http.client
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import ARTIFACTS, ROOT, _database_url_for
from tests.workers import free_port

SECRET = "tests-only-" + "k3y-7x!Q" * 8  # 50+ characters, many distinct: check --deploy accepts it


def production_environment(**extra) -> dict:
    from django.db import connection

    env = {key: value for key, value in os.environ.items() if not key.startswith(("PYTEST", "DJANGO_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="oms.settings", DEBUG="0", SECRET_KEY=SECRET, ALLOWED_HOSTS="127.0.0.1,localhost",
        DATABASE_URL=_database_url_for(connection.settings_dict),
        SECURE_PROXY_SSL_HEADER="HTTP_X_FORWARDED_PROTO=https", LOG_LEVEL="WARNING", WEB_ACCESS_LOG="",
    )
    env.update(extra)
    return env


@dataclass
class Server:
    port: int
    static_root: Path

    def request(self, method: str, path: str, *, body: bytes | None = None, headers: dict | None = None,
                https: bool = True) -> http.client.HTTPResponse:
        """One request; `https` says the proxy in front received it over HTTPS (X-Forwarded-Proto)."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=20)
        all_headers = {"Host": "127.0.0.1", **({"X-Forwarded-Proto": "https"} if https else {}), **(headers or {})}
        connection.request(method, path, body=body, headers=all_headers)
        response = connection.getresponse()
        response.body = response.read()
        connection.close()
        return response


@pytest.fixture(scope="session")
def production_server(django_db_setup, django_db_blocker, tmp_path_factory):
    """gunicorn serving oms.wsgi as scripts/serve-prod does (its config file, DEBUG=0, WhiteNoise), 2 workers."""
    static_root = tmp_path_factory.mktemp("staticfiles")
    port = free_port()
    with django_db_blocker.unblock():
        env = production_environment(STATIC_ROOT=str(static_root), BIND=f"127.0.0.1:{port}", WEB_WORKERS="2",
                                     WEB_THREADS="2")
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env,
                   check=True, timeout=120)
    ARTIFACTS.mkdir(exist_ok=True)
    log = open(ARTIFACTS / "gunicorn.log", "ab")
    process = subprocess.Popen([str(Path(sys.executable).parent / "gunicorn"), "-c", "scripts/gunicorn.conf.py"],
                               cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    server = Server(port=port, static_root=static_root)
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            raise RuntimeError("gunicorn exited; see test-artifacts/gunicorn.log")
        try:
            if server.request("GET", "/healthz").status == 200:
                break
        except OSError:
            pass
        if time.monotonic() > deadline:
            process.kill()
            raise RuntimeError("gunicorn did not answer within 60 s; see test-artifacts/gunicorn.log")
        time.sleep(0.2)
    yield server
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()
