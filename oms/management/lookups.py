"""Command-line helpers shared by the management commands."""

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError


def user_by_username(username: str | None):
    """The user a command acts as (None when no --user is given); a clear error for an unknown name."""
    if not username:
        return None
    try:
        return get_user_model().objects.get(username=username)
    except get_user_model().DoesNotExist as exc:
        raise CommandError(f"No user {username!r}.") from exc
