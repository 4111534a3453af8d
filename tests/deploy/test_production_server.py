"""What the production server itself does, checked against gunicorn (not the test client): static files,
security headers, HTTPS, the probes and body limits."""

import json
import re

import pytest

pytestmark = pytest.mark.slow


def hashed(server, name: str) -> str:
    manifest = json.loads((server.static_root / "staticfiles.json").read_text())
    return manifest["paths"][name]


def test_static_files_have_content_hashed_names_a_year_of_cache_and_compression(production_server):
    name = hashed(production_server, "css/storefill.css")
    assert re.fullmatch(r"css/storefill\.[0-9a-f]{12}\.css", name)
    response = production_server.request("GET", f"/static/{name}", headers={"Accept-Encoding": "gzip"})
    assert response.status == 200
    assert response.getheader("Content-Encoding") == "gzip"
    cache = response.getheader("Cache-Control")
    assert "max-age=315360000" in cache and "immutable" in cache


def test_pages_link_the_hashed_static_files(production_server):
    page = production_server.request("GET", "/accounts/login/")
    assert page.status == 200
    assert f'/static/{hashed(production_server, "css/storefill.css")}' in page.body.decode()
    assert f'/static/{hashed(production_server, "js/htmx.min.js")}' in page.body.decode()


def test_a_page_carries_the_security_headers_and_secure_cookies(production_server):
    page = production_server.request("GET", "/accounts/login/")
    assert page.getheader("Strict-Transport-Security") == "max-age=31536000; includeSubDomains; preload"
    assert page.getheader("X-Content-Type-Options") == "nosniff"
    assert page.getheader("Referrer-Policy") == "same-origin"
    assert page.getheader("X-Frame-Options") == "DENY"
    assert page.getheader("Cross-Origin-Opener-Policy") == "same-origin"
    policy = dict(part.strip().split(" ", 1) for part in page.getheader("Content-Security-Policy").split(";"))
    assert policy["script-src"] == "'self'" and policy["default-src"] == "'self'"  # no inline script, no eval
    assert policy["frame-ancestors"] == "'none'" and policy["object-src"] == "'none'"
    cookie = page.getheader("Set-Cookie")
    assert "csrftoken=" in cookie and "Secure" in cookie and "HttpOnly" in cookie


def test_plain_http_is_sent_to_https(production_server):
    response = production_server.request("GET", "/accounts/login/", https=False)
    assert response.status == 301
    assert response.getheader("Location") == "https://127.0.0.1/accounts/login/"


def test_the_probes_answer_plain_http_without_login(production_server):
    health = production_server.request("GET", "/healthz", https=False)
    assert health.status == 200 and json.loads(health.body) == {"status": "ok"}
    ready = production_server.request("GET", "/readyz", https=False)
    assert ready.status in (200, 503)
    assert set(json.loads(ready.body)["checks"]) == {"database", "broker", "worker"}


@pytest.mark.django_db(transaction=True)
def test_readyz_is_ready_once_a_worker_beat(production_server):
    from oms.health import heartbeat_record

    heartbeat_record()
    ready = production_server.request("GET", "/readyz")
    assert ready.status == 200, ready.body
    assert json.loads(ready.body) == {"status": "ok", "checks": {"database": "ok", "broker": "ok", "worker": "ok"}}


def test_a_webhook_body_over_its_limit_is_refused_by_the_server(production_server):
    body = b"{" + b" " * (1024 * 1024 + 10) + b"}"
    response = production_server.request("POST", "/webhooks/shopify/orders/create", body=body,
                                         headers={"Content-Type": "application/json"})
    assert response.status == 413


def test_a_request_declaring_a_huge_body_is_refused_before_it_is_sent(production_server):
    response = production_server.request("POST", "/accounts/login/", body=b"",
                                         headers={"Content-Length": str(10 * 1024 ** 3)})
    assert response.status == 413


def test_debug_is_off_unknown_pages_show_no_traceback(production_server):
    response = production_server.request("GET", "/no/such/page/")
    assert response.status == 404
    assert b"Traceback" not in response.body and b"URLconf" not in response.body
