"""Every URL answers every role without a server error, on the demo after a working day.

Each pattern of the URL conf (tests/url_walk.py) gets each method it accepts — a valid request, and invalid ones
(unknown ids and codes, a bad form, a bad query) — as anonymous, a store associate, a store manager, operations
staff and a superuser. Each request runs in a savepoint rolled back afterwards, so every request meets the same
world whatever was sent before. The same test runs on SQLite, the demo's database (tests/test_sqlite_side.py).
"""

import time

import pytest
from django.db import transaction
from django.http import HttpResponse
from django.test import Client
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from tests.url_walk import RAW, UrlWorld, url_walk, walk_arguments
from tests.walk_world import working_day

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def easypost_webhooks(settings):
    settings.EASYPOST_WEBHOOK_SECRET = "walk-easypost-secret"  # its tracker webhook answers only when set up

ROLES = ("anonymous", "associate", "manager", "operations", "superuser")
# The superuser walks only the admin: elsewhere it is operations staff again, and the walk's time counts.
BAD_FORM = {"version": "not-a-number", "quantity": "-3", "reason": "", "confirm": "maybe", "facility": "x\x00",
            "lines": ["x", "-1"], "jobs": "x", "pickers": "x", "every": "x", "zone": "Mars/Olympus",
            "choice": "NOPE", "store": "x", "box": "x", "weight": "heavy", "to": "x", "line": "x",
            "refuse": "x", "tracking_number": "x" * 300, "code": "\x00", "assignee": "x", "shelf": "x" * 300,
            "mode": "x", "page": "x"}
BAD_QUERY = {"page": "x", "start": "not-a-date", "end": "2026-02-31", "status": "NOPE", "facility": "x",
             "received_from": "x", "q": "x\x00", "queue": "NOPE", "choice": "NOPE", "store": "x"}
# Patterns no role may reach with a 2xx (or a redirect other than to the login page), and why.
UNREACHABLE = {
    "logout": "a GET is refused (405) by Django: logging out is a POST, which redirects to the login page",
}
# Django's admin (superusers, and staff with model permissions): walked with GET only, valid and unknown ids (its
# forms and filters are Django's own, tested there); each page must not fail, none must be reachable by a role.
ADMIN = "admin:"


def _page(request, code):
    return HttpResponse("ok")


@require_POST
def _action(request, code, item_id):
    return HttpResponse("done")


urlpatterns = [  # a URL conf of its own for the walker's own test
    path("shops/<slug:code>/", _page, name="page"),
    path("shops/<slug:code>/items/<int:item_id>/act/", _action, name="act"),
]


def test_the_walker_yields_every_pattern_filled_from_the_world_with_the_methods_its_view_accepts():
    world = UrlWorld(values={"code": "S-1", "item_id": 7}, per_pattern={"page": [{"code": "S-1"}, {"code": "S-2"}]})

    assert list(url_walk(world, urlconf=__name__)) == [
        ("page", "/shops/S-1/", ("GET", "POST")), ("page", "/shops/S-2/", ("GET", "POST")),
        ("act", "/shops/S-1/items/7/act/", ("POST",)),
    ]
    assert [walked.url for walked in url_walk(world, unknown=True, urlconf=__name__)] == [
        "/shops/no-such-thing/", "/shops/no-such-thing/items/2000000000/act/"]


def clients(users: dict) -> dict[str, Client]:
    found = {}
    for role in ROLES:
        client = Client(raise_request_exception=False)
        if users[role] is not None:
            client.force_login(users[role])
        found[role] = client
    return found


def send(client: Client, cookies, method: str, url: str, data: dict | None = None, query: dict | None = None):
    """One request in a savepoint rolled back afterwards, with the role's session as it was before."""
    client.cookies = cookies.__class__(cookies)
    with transaction.atomic():
        if method == "GET":
            response = client.get(url, query or {})
        elif method == "POST" and data and RAW in data:
            response = client.post(url, data=data[RAW]["body"], content_type=data[RAW]["content_type"],
                                   headers=data[RAW]["headers"])
        elif method == "POST":
            response = client.post(url, data or {})
        else:
            response = client.generic(method, url)
        transaction.set_rollback(True)
    return response


def reached(response, login_url: str) -> bool:
    if 200 <= response.status_code < 300:
        return True
    return 300 <= response.status_code < 400 and not response.get("Location", "").startswith(login_url)


def walk(users: dict, world) -> tuple[list[str], set[str], set[str], int]:
    """Every request of the walk: (server errors, patterns walked, patterns some role reached, requests sent)."""
    login_url = reverse("login")
    errors, walked, reached_by_someone = [], set(), set()
    sent = 0
    role_clients = clients(users)
    valid = list(url_walk(world))
    unknown = {target.name: target for target in url_walk(world, unknown=True)}
    for role, client in role_clients.items():
        cookies = client.cookies.__class__(client.cookies)
        seen = set()
        for target in valid:
            first = target.name not in seen
            seen.add(target.name)
            walked.add(target.name)
            admin = target.name.startswith(ADMIN)
            if (role == "superuser") != admin and role in ("superuser", "operations"):
                continue  # operations staff see a subset of the admin pages the superuser walks
            methods = [m for m in target.methods if m == "GET"] if admin else target.methods
            for method in methods:
                arguments = walk_arguments(world, target.name)
                requests = [("valid", target.url, world.post_data(target.name, arguments) if method == "POST" else {},
                             None)]
                if method == "GET" and not admin:
                    requests.append(("bad query", target.url, None, BAD_QUERY))
                else:
                    requests.append(("bad form", target.url, BAD_FORM, None))
                if first and unknown[target.name].url != target.url:
                    requests.append(("unknown ids", unknown[target.name].url, BAD_FORM, None))
                for variant, url, data, query in requests:
                    response = send(client, cookies, method, url, data, query)
                    sent += 1
                    if response.status_code >= 500:
                        errors.append(f"{response.status_code} {method} {url} ({target.name}, {variant}) as {role}")
                    elif variant == "valid" and reached(response, login_url):
                        reached_by_someone.add(target.name)
    return errors, walked, reached_by_someone, sent


def test_every_url_answers_every_role_without_a_server_error_and_each_is_reachable_by_someone():
    started = time.monotonic()
    day = working_day()
    built = time.monotonic() - started
    errors, walked, reached_by_someone, sent = walk(day.users, day.world)
    print(f"walk: world built in {built:.1f} s, {sent} requests in {time.monotonic() - started - built:.1f} s")

    assert not errors, f"{len(errors)} server errors:\n" + "\n".join(errors)
    unreached = sorted(walked - reached_by_someone - set(UNREACHABLE))
    unreached = [name for name in unreached if not name.startswith(ADMIN)]
    assert not unreached, f"no role reached: {unreached}"
    assert not set(UNREACHABLE) - walked, "an exclusion names a pattern the URL conf does not have any more"
    stale = set(UNREACHABLE) & reached_by_someone
    assert not stale, f"excluded but reachable now, drop the exclusion: {sorted(stale)}"
