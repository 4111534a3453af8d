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
from tests.walk_world import MANUAL_STORE, PACK_STORES, working_day

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
    "fulfillment:pack-parcel-print": "needs a network label printer, which the demo has none of (422, said); "
                                     "tests/fulfillment/test_label_printing.py prints to a local one",
    "fulfillment:handover-scan-form": "the demo's only carrier (Storefill Post) makes no scan forms (422, said); "
                                      "tests/fulfillment/test_scan_forms.py takes one from a local fake EasyPost",
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


def send(client: Client, cookies, method: str, url: str, data: dict | None = None, query: dict | None = None,
         *, watch: bool = False):
    """One request in a savepoint rolled back afterwards, with the role's session as it was before (a logout or
    a login must not change who the next request is). With `watch`, `response.changed` says whether it changed
    anything (footprint below)."""
    client.cookies = cookies.__class__(cookies)
    with transaction.atomic():
        before = footprint() if watch else None
        if method == "GET":
            response = client.get(url, query or {})
        elif method == "POST" and data and RAW in data:
            response = client.post(url, data=data[RAW]["body"], content_type=data[RAW]["content_type"],
                                   headers=data[RAW]["headers"])
        elif method == "POST":
            response = client.post(url, data or {})
        else:
            response = client.generic(method, url)
        response.changed = watch and footprint() != before
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


@pytest.fixture(scope="module")
def day(django_db_setup, django_db_blocker):
    """One working day for the walks of this module (it takes a while to build), rolled back after them."""
    with django_db_blocker.unblock(), transaction.atomic():
        started = time.monotonic()
        built = working_day()
        print(f"walk: world built in {time.monotonic() - started:.1f} s")
        yield built
        transaction.set_rollback(True)


def test_every_url_answers_every_role_without_a_server_error_and_each_is_reachable_by_someone(day):
    started = time.monotonic()
    errors, walked, reached_by_someone, sent = walk(day.users, day.world)
    print(f"walk: {sent} requests in {time.monotonic() - started:.1f} s")

    assert not errors, f"{len(errors)} server errors:\n" + "\n".join(errors)
    unreached = sorted(walked - reached_by_someone - set(UNREACHABLE))
    unreached = [name for name in unreached if not name.startswith(ADMIN)]
    assert not unreached, f"no role reached: {unreached}"
    assert not set(UNREACHABLE) - walked, "an exclusion names a pattern the URL conf does not have any more"
    stale = set(UNREACHABLE) & reached_by_someone
    assert not stale, f"excluded but reachable now, drop the exclusion: {sorted(stale)}"


# --- who may see and change what (docs/deploy.md, "Access") ------------------------------------------------------

# Patterns anyone may open without signing in, and why; every other pattern sends an anonymous visitor to log in.
PUBLIC = {
    "login": "signing in", "logout": "signing out",
    "password_reset": "Django's reset form", "password_reset_done": "its confirmation",
    "password_reset_confirm": "the link from the reset email", "password_reset_complete": "its confirmation",
    "password_change": "redirects to log in", "password_change_done": "redirects to log in",
    "healthz": "a load balancer's probe", "readyz": "a load balancer's probe",
    "pickup-alternatives": "the customer's signed link from the email",
    "shopify-orders-create": "signed by the shop", "shopify-orders-updated": "signed by the shop",
    "shopify-orders-cancelled": "signed by the shop", "easypost-tracker-webhook": "signed by EasyPost",
}
STORE_ARGUMENT = "facility_code"


def footprint() -> tuple:
    """What any change to the stores' work or orders leaves behind (counts and versions), to prove none happened."""
    from django.db.models import Sum

    from fulfillment.models import HandoverJob, LineProblem, PackJob, Parcel, PickBatch, PickJob, PutBackTask
    from oms.models import OrderNote, OutboxMessage, TransitionLog
    from stores.models import InventoryAdjustment

    counts = tuple(model.objects.count() for model in (TransitionLog, OutboxMessage, InventoryAdjustment, PickBatch,
                                                        Parcel, LineProblem, PutBackTask, OrderNote))
    versions = tuple(model.objects.aggregate(total=Sum("version"))["total"] for model in (PickJob, PackJob,
                                                                                           HandoverJob))
    return counts + versions


def send_watching(client: Client, method: str, url: str, data: dict | None) -> tuple:
    """`send` as this client, watching for changes: (response, whether it changed anything)."""
    cookies = client.cookies.__class__(client.cookies)
    response = send(client, cookies, method, url, data, watch=True)
    client.cookies = cookies
    return response, response.changed


def stranger(day):
    """An associate of a store the walk's world does not work at."""
    from stores.models import Facility, StoreMembership
    from tests.factories import UserFactory

    used = {day.world.values[STORE_ARGUMENT], *PACK_STORES, MANUAL_STORE}
    store = Facility.objects.filter(kind=Facility.Kind.STORE).exclude(code__in=used).order_by("code").first()
    user = UserFactory(username="stranger")
    StoreMembership.objects.create(user=user, facility=store, role="ASSOCIATE")
    return user, store


def targets(day):
    from tests.url_walk import patterns_by_name

    for target in url_walk(day.world):
        if target.name.startswith(ADMIN):
            continue
        yield target, patterns_by_name()[target.name].arguments


def test_anonymous_visitors_are_sent_to_log_in_except_on_public_pages(day):
    login_url = reverse("login")
    client = Client(raise_request_exception=False)
    let_in = []
    for target, _ in targets(day):
        for method in target.methods:
            data = day.world.post_data(target.name, walk_arguments(day.world, target.name)) if method == "POST" else {}
            response, changed = send_watching(client, method, target.url, data)
            to_login = response.status_code == 302 and response["Location"].startswith(login_url)
            if target.name not in PUBLIC and not to_login:
                let_in.append(f"{response.status_code} {method} {target.url} ({target.name})")
            if target.name not in PUBLIC and changed:
                let_in.append(f"CHANGED {method} {target.url} ({target.name})")
    assert let_in == []


def test_an_associate_of_another_store_sees_and_changes_nothing_of_this_store(day):
    user, own_store = stranger(day)
    client = Client(raise_request_exception=False)
    client.force_login(user)
    leaks = []
    for target, arguments in targets(day):
        is_store_page = STORE_ARGUMENT in arguments
        for method in target.methods:
            data = day.world.post_data(target.name, walk_arguments(day.world, target.name)) if method == "POST" else {}
            response, changed = send_watching(client, method, target.url, data)
            where = f"{response.status_code} {method} {target.url} ({target.name})"
            if target.name.startswith("console:") and response.status_code != 404:
                leaks.append(f"console: {where}")
            if is_store_page and response.status_code not in (403, 404):
                leaks.append(f"another store's page: {where}")
            if changed and target.name not in PUBLIC:
                leaks.append(f"CHANGED: {where}")
            # The same page at the associate's own store, with this store's ids (jobs, parcels, handovers …) in
            # the address and in the form: not found, nothing changed. (A carrier's code is no object of a store.)
            if is_store_page and any(kind == "int" for name, kind in arguments.items() if name != STORE_ARGUMENT):
                store_in_url = day.world.arguments(target.name, arguments)[STORE_ARGUMENT]  # home or a packing store
                own_url = target.url.replace(f"/{store_in_url}/", f"/{own_store.code}/")
                response, changed = send_watching(client, method, own_url, data)
                if 200 <= response.status_code < 400 or changed:
                    leaks.append(f"this store's ids at their own store: {response.status_code} {method} {own_url} "
                                 f"({target.name}){' CHANGED' if changed else ''}")
    assert not leaks, "\n".join(leaks)


def test_an_associate_of_the_store_works_there_but_never_sees_the_console(day):
    client = Client(raise_request_exception=False)
    client.force_login(day.users["associate"])
    wrong = []
    for target, arguments in targets(day):
        if "GET" not in target.methods:
            continue
        response, _ = send_watching(client, "GET", target.url, None)
        if target.name.startswith("console:") and response.status_code != 404:
            wrong.append(f"console {response.status_code} {target.url}")
        if STORE_ARGUMENT in arguments and response.status_code >= 500:
            wrong.append(f"store {response.status_code} {target.url}")
    assert wrong == []


def test_every_post_without_a_csrf_token_is_refused(day):
    client = Client(enforce_csrf_checks=True, raise_request_exception=False)
    client.force_login(day.users["operations"])
    accepted = []
    for target, _ in targets(day):
        if "POST" not in target.methods or target.name in PUBLIC and target.name != "login":
            continue  # signed webhooks and the customer's link carry no CSRF token by design
        data = day.world.post_data(target.name, walk_arguments(day.world, target.name))
        response, changed = send_watching(client, "POST", target.url, data)
        if response.status_code != 403 or changed:
            accepted.append(f"{response.status_code} POST {target.url} ({target.name})")
    assert accepted == []
