"""The home page: operations staff see the network, store users their facility."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from fulfillment.selectors import store_overview
from oms.console.overview import operations_overview
from stores.access import current_membership, is_operations, membership_for, memberships_of, remember_facility


@login_required
def home(request):
    now = timezone.now()
    if is_operations(request.user):
        return render(request, "oms/home_operations.html", {"overview": operations_overview(now=now)})
    memberships = memberships_of(request.user)
    if not memberships:
        return render(request, "stores/no_facility.html", status=403)
    membership = current_membership(request, memberships)
    if membership is None or (request.GET.get("choose") and len(memberships) > 1):
        return render(request, "stores/choose_facility.html", {"memberships": memberships})
    return render(request, "stores/home_store.html", {
        "membership": membership,
        "facility": membership.facility,
        "memberships": memberships,
        "overview": store_overview(facility=membership.facility, now=now),
        "now": now,
    })


@login_required
@require_POST
def choose_facility(request):
    try:
        facility_id = int(request.POST.get("facility", ""))
    except ValueError:
        return HttpResponseBadRequest("Choose a facility.")
    remember_facility(request, membership_for(request.user, facility_id))
    return redirect("home")
