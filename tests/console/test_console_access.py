"""Every console URL — pages and actions, whichever area adds them — is for operations staff only: store users
get 404 for GET and POST, anonymous visitors are sent to log in. The operator's time zone is kept per session."""

import pytest
from django.urls import URLPattern, URLResolver, reverse

from oms.console import urls as console_urls

pytestmark = pytest.mark.django_db

SAMPLE = {"int": "1", "str": "BROKERING", "slug": "x", "path": "x"}


def console_paths(patterns=None, prefix: str = "/console/") -> list[str]:
    """Every console URL with a sample value for each argument (walks the included areas)."""
    found = []
    for entry in patterns if patterns is not None else console_urls.urlpatterns:
        route = prefix + _sample(entry.pattern)
        if isinstance(entry, URLResolver):
            found += console_paths(entry.url_patterns, route)
        elif isinstance(entry, URLPattern):
            found.append(route)
    return sorted(set(found))


def _sample(pattern) -> str:
    route = str(pattern)
    for name, converter in getattr(pattern, "converters", {}).items():
        kind = type(converter).__name__.replace("Converter", "").lower()
        route = route.replace(f"<{kind}:{name}>", SAMPLE.get(kind, "1")).replace(f"<{name}>", "x")
    return route


def test_the_walk_finds_every_area():
    paths = console_paths()
    for expected in ["/console/", "/console/orders/", "/console/queues/", "/console/runs/", "/console/rules/",
                     "/console/outbox/", "/console/feeds/", "/console/facilities/", "/console/zone/"]:
        assert expected in paths


@pytest.mark.parametrize("path", console_paths())
def test_store_users_get_404_on_every_console_url(store_client, path):
    assert store_client.get(path).status_code == 404
    assert store_client.post(path, {"reason": "x"}).status_code == 404


@pytest.mark.parametrize("path", console_paths())
def test_anonymous_visitors_are_sent_to_log_in(client, path):
    response = client.get(path)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_operations_staff_open_the_console_and_choose_their_time_zone(ops_client):
    assert ops_client.get("/console/").status_code == 200
    response = ops_client.post("/console/zone/", {"zone": "America/Chicago", "next": "/console/orders/"})
    assert response.status_code == 302 and response["Location"] == "/console/orders/"
    page = ops_client.get("/console/orders/").content.decode()
    assert 'value="America/Chicago"' in page

    refused = ops_client.post("/console/zone/", {"zone": "Mars/Olympus", "next": "https://evil.example/"},
                              follow=True)
    assert "Unknown time zone" in refused.content.decode()
    assert refused.redirect_chain[0][0] == reverse("console:dashboard")
    assert 'value="America/Chicago"' in refused.content.decode()
