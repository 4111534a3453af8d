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
