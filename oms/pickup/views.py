"""The customer's pickup alternatives page: no login, the signed link from the email is the key.

GET shows the order's waiting items and the choices (or one choice preselected by the email's link, to
confirm: a GET never changes anything, since mail scanners open links); POST applies one.
"""

from django.shortcuts import render
from django.urls import path
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from oms.models import PickupAlternativeOffer
from oms.pickup.alternatives import (
    PickupChoiceError,
    PickupOfferError,
    PickupOfferInvalid,
    pickup_alternative_apply,
    pickup_offer_details,
    pickup_offer_from_token,
)
from oms.security import code_guess_record, code_guesses_exceeded

Choice = PickupAlternativeOffer.Choice
GUESS_KIND = "pickup-link"


@never_cache
@require_http_methods(["GET", "POST"])
def pickup_alternatives_page(request, token: str):
    now = timezone.now()
    if code_guesses_exceeded(request, kind=GUESS_KIND):  # nobody guesses links: a stream of bad ones is a scan
        return _no_referrer(render(request, "customer/alternatives_closed.html", {
            "message": "Too many links that do not exist were tried from this address. Please wait a few minutes "
                       "and open the link from your email again."}, status=429))
    try:
        offer = pickup_offer_from_token(token, now=now)
    except PickupOfferError as exc:
        if isinstance(exc, PickupOfferInvalid):
            code_guess_record(request, kind=GUESS_KIND)
        return _closed(request, exc)
    if request.method == "GET":
        return _choices(request, offer, selected=_selected(request.GET))
    try:
        result = pickup_alternative_apply(offer_id=offer.pk, choice=request.POST.get("choice", ""),
                                          facility_id=_int(request.POST.get("store")), now=now)
    except PickupChoiceError as exc:
        return _choices(request, offer, selected=None, error=exc.message, status=exc.status)
    except PickupOfferError as exc:  # used by another tab a moment ago
        return _closed(request, exc)
    details = pickup_offer_details(offer=result.offer, all_lines=True)
    return _no_referrer(render(request, "customer/alternatives_done.html", {"result": result, "details": details}))


def _choices(request, offer, *, selected: dict | None, error: str = "", status: int = 200):
    details = pickup_offer_details(offer=offer)
    if selected and selected["choice"] == Choice.STORE:
        store = next((s for s in details.stores if s.facility.pk == selected["store"]), None)
        selected = {"choice": Choice.STORE, "store": store} if store else None
    elif selected and selected["choice"] == Choice.SHIP and not details.can_ship:
        selected = None
    return _no_referrer(render(request, "customer/alternatives.html", {
        "details": details, "selected": selected, "error": error, "Choice": Choice,
    }, status=status))


def _closed(request, exc: PickupOfferError):
    return _no_referrer(render(request, "customer/alternatives_closed.html", {"message": exc.message,
                                                                              "offer": exc.offer},
                               status=exc.status))


def _selected(query) -> dict | None:
    choice = query.get("choice", "")
    if choice not in Choice.values:
        return None
    return {"choice": choice, "store": _int(query.get("store"))}


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _no_referrer(response):
    # The token is in the address: keep it out of Referer headers and search engines.
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


urlpatterns = [
    path("<str:token>/", pickup_alternatives_page, name="pickup-alternatives"),
]
