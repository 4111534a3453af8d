"""What every store page shares: the facility from the URL checked against the user's membership, and
how refusals reach the associate (a message where they are looking, with the right status code)."""

import functools

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render

from fulfillment.errors import StoreRefusal
from stores.access import membership_for
from stores.models import Facility, StoreMembership


def int_or(value, default=None):
    """A posted number, or `default` when it is missing or not a number."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def posted_version(request) -> int:
    """The version of the job the page showed. A POST without one never matches (the associate is asked to
    reload): a version check is never skipped by leaving the field out."""
    return int_or(request.POST.get("version"), -1)


def store_view(view=None, *, manager_only: bool = False):
    """Resolve `facility_code` from the URL into request.facility and request.membership, or 404.

    A user of store A who guesses a URL of store B gets 404, never data. `manager_only` views give 404
    to associates too (they must not learn what exists).
    """
    def decorate(view):
        @login_required
        @functools.wraps(view)
        def wrapper(request, facility_code: str, *args, **kwargs):
            facility_id = Facility.objects.filter(code=facility_code).values_list("pk", flat=True).first()
            if facility_id is None:
                raise Http404("No such facility")
            membership = membership_for(request.user, facility_id)
            if manager_only and membership.role != StoreMembership.Role.MANAGER:
                raise Http404("Managers only")
            request.membership = membership
            request.facility = membership.facility
            request.is_manager = membership.role == StoreMembership.Role.MANAGER
            return view(request, *args, **kwargs)
        return wrapper
    return decorate(view) if view is not None else decorate


def render_refusal(request, error: StoreRefusal, *, template: str = "fulfillment/_message.html"):
    """The refusal as a message: for htmx swapped into the page's message area, otherwise a small page."""
    response = render(request, template, {"message": error.message, "level": "error"}, status=error.status)
    if request.htmx:
        response["HX-Retarget"] = "#store-message"
        response["HX-Reswap"] = "innerHTML"
    return response


def partial_or_page(request, template: str, context: dict, *, partial: str, status: int = 200):
    """An htmx request gets the named partial of the template, a normal request the whole page."""
    name = f"{template}#{partial}" if request.htmx else template
    return render(request, name, context, status=status)
