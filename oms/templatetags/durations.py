"""Durations in words a person reads at a glance: "12 s" under a minute (Django's timesince says "0 minutes"),
then minutes, hours and days as timesince writes them."""

from datetime import datetime

from django import template
from django.utils import timezone
from django.utils.timesince import timesince

register = template.Library()


@register.filter
def duration(start: datetime | None, end: datetime | None = None) -> str:
    """How long from `start` to `end` (default: now): `{{ run.started_at|duration:run.finished_at }}`."""
    if start is None:
        return "—"
    seconds = ((end or timezone.now()) - start).total_seconds()
    if seconds < 60:
        return f"{max(0, int(seconds))} s"
    return timesince(start, end)
