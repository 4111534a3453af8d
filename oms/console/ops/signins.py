"""Sign-in lockouts (django-axes): the usernames and addresses refused for too many wrong passwords, and unlocking
one early. Axes keeps one AccessAttempt row per (username, address) with its failures since the last success."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from axes.models import AccessAttempt
from django.conf import settings


@dataclass(frozen=True)
class SignInFailures:
    attempt: AccessAttempt
    locked: bool
    locked_until: datetime | None


def sign_in_failures(*, now: datetime, limit: int = 200) -> list[SignInFailures]:
    """Recent failed sign-ins, newest first; `locked` where the failures reached AXES_FAILURE_LIMIT within the
    cool-off time (such a username or address is refused until `locked_until`)."""
    cooloff = timedelta(hours=settings.AXES_COOLOFF_TIME)
    rows = []
    for attempt in AccessAttempt.objects.order_by("-attempt_time", "-pk")[:limit]:
        until = attempt.attempt_time + cooloff
        locked = attempt.failures_since_start >= settings.AXES_FAILURE_LIMIT and until > now
        rows.append(SignInFailures(attempt=attempt, locked=locked, locked_until=until if locked else None))
    return rows


def sign_in_unlock(*, attempt_id: int) -> AccessAttempt | None:
    """Forget the failures of one (username, address): it may sign in again at once. None if already gone."""
    attempt = AccessAttempt.objects.filter(pk=attempt_id).first()
    if attempt is None:
        return None
    # Every row of that username (any address) and of that address (any username): both lock on their own.
    AccessAttempt.objects.filter(username=attempt.username).delete()
    AccessAttempt.objects.filter(ip_address=attempt.ip_address).delete()
    return attempt
