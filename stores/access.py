"""Who may see what: operations staff see everything, store users only their own facilities."""

from django.contrib.auth.models import Group
from django.http import Http404

from stores.models import Facility, StoreMembership

OPERATIONS_GROUP = "operations"


def operations_group() -> Group:
    group, _ = Group.objects.get_or_create(name=OPERATIONS_GROUP)
    return group


def is_operations(user) -> bool:
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    cached = getattr(user, "_storefill_is_operations", None)
    if cached is None:
        cached = user.groups.filter(name=OPERATIONS_GROUP).exists()
        user._storefill_is_operations = cached
    return cached


def memberships_of(user) -> list[StoreMembership]:
    if not user.is_authenticated:
        return []
    return list(StoreMembership.objects.filter(user=user).select_related("facility").order_by("facility__code"))


def membership_for(user, facility_id: int) -> StoreMembership:
    """The user's membership of that facility, or 404 (a guessed URL of another store shows nothing)."""
    membership = StoreMembership.objects.filter(user=user, facility_id=facility_id).select_related("facility").first()
    if membership is None:
        raise Http404("No such facility")
    return membership


def facilities_visible_to(user):
    if is_operations(user):
        return Facility.objects.all()
    return Facility.objects.filter(memberships__user=user)


SESSION_FACILITY_KEY = "storefill_facility_id"


def current_membership(request, memberships: list[StoreMembership]) -> StoreMembership | None:
    """The facility the user works in now: their only one, or the one they chose (kept in the session)."""
    if len(memberships) == 1:
        return memberships[0]
    chosen = request.session.get(SESSION_FACILITY_KEY)
    return next((m for m in memberships if m.facility_id == chosen), None)


def remember_facility(request, membership: StoreMembership) -> None:
    request.session[SESSION_FACILITY_KEY] = membership.facility_id
