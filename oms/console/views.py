"""Console-wide views: the operator's choice of time zone."""

import zoneinfo

from django.contrib import messages
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from oms.console.access import SESSION_ZONE_KEY, console_view

ZONES = sorted(zoneinfo.available_timezones())


@console_view
@require_POST
def zone_choose(request):
    """Show the console's times in another zone (kept for the session)."""
    name = request.POST.get("zone", "").strip()
    if name not in ZONES:
        messages.error(request, f"Unknown time zone “{name}”: choose one from the list.")
    else:
        request.session[SESSION_ZONE_KEY] = name
        messages.success(request, f"Times are shown in {name}.")
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = "console:dashboard"
    return redirect(target)
