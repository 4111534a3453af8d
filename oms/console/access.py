"""Who may open the console, and in which time zone an operator reads it."""

import functools
import zoneinfo

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.utils import timezone

from stores.access import is_operations
from stores.models import Facility

SESSION_ZONE_KEY = "storefill_console_zone"


def operator_zone(request) -> zoneinfo.ZoneInfo:
    """The time zone the operator chose (kept in the session), else the server's TIME_ZONE."""
    name = request.session.get(SESSION_ZONE_KEY) or settings.TIME_ZONE
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def console_view(view):
    """A console page: logged in, operations staff only (anyone else gets 404: the console does not exist for
    them), times rendered in the operator's zone (`{{ value|date }}` and `localtime` follow it)."""

    @login_required
    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        if not is_operations(request.user):
            raise Http404("No such page")
        zone = operator_zone(request)
        request.operator_zone = zone
        with timezone.override(zone):
            response = view(request, *args, **kwargs)
            if hasattr(response, "render") and not response.is_rendered:  # a TemplateResponse: render in the zone
                response.render()
            return response

    return wrapped


def console_context(request) -> dict:
    """Template context of every console page (a context processor; empty elsewhere): the zones an operator
    picks from — UTC, the server's, and every facility's."""
    if getattr(request, "operator_zone", None) is None:
        return {}
    zones = set(Facility.objects.values_list("time_zone", flat=True).distinct())
    return {"console_zones": sorted(zones | {"UTC", settings.TIME_ZONE, request.operator_zone.key})}
