"""When a pick job is due: counted in the facility's own opening hours and time zone."""

from datetime import date, datetime, time, timedelta
from functools import lru_cache

from stores.models import WEEKDAYS, Facility

# Opening hours are walked day by day; a facility open at least one day a week needs at most this
# many days to find an open one, so a longer walk means it has no opening hours at all.
_WEEK = 7


def pick_due_at(*, facility: Facility, created_at: datetime, pickup: bool) -> datetime:
    """The time a job created at `created_at` must be ready.

    Pickup: `facility.pickup_service_hours` opening hours after `created_at` (time outside the
    opening hours does not count, so a job arriving an hour before closing is due an hour after the
    next opening). Ship: the end of the business day — the closing time of the day it arrives, or of
    the next open day when it arrives after closing or on a closed day. A facility without any
    opening hours counts plain hours, and its business day ends at local midnight.
    """
    tz = facility.tz
    local = created_at.astimezone(tz)
    hours = _opening_hours(_frozen(facility.opening_hours or {}))
    if not any(hours):
        if pickup:
            return created_at + timedelta(hours=facility.pickup_service_hours)
        next_midnight = datetime.combine(local.date() + timedelta(days=1), time.min, tzinfo=tz)
        return next_midnight.astimezone(created_at.tzinfo)
    if pickup:
        due = _after_opening_hours(hours=hours, start=local, duration=timedelta(hours=facility.pickup_service_hours))
    else:
        due = _business_day_end(hours=hours, start=local)
    return due.astimezone(created_at.tzinfo)


def _frozen(value: dict) -> tuple:
    return tuple((day, tuple(value[day]) if value.get(day) else None) for day in WEEKDAYS)


@lru_cache(maxsize=1024)  # a run asks for the same few weekly schedules thousands of times
def _opening_hours(value: tuple) -> tuple[tuple[timedelta, timedelta] | None, ...]:
    """Monday-first (opens, closes) as offsets from local midnight, None for closed days."""
    days = []
    for _, span in value:
        if not span:
            days.append(None)
            continue
        opens, closes = (_offset(text) for text in span)
        days.append((opens, closes) if opens < closes else None)
    return tuple(days)


def _offset(text: str) -> timedelta:
    hours, minutes = (int(part) for part in text.split(":"))
    return timedelta(hours=hours, minutes=minutes)  # "24:00" is the end of the day


def _day_span(hours, day: date, tz) -> tuple[datetime, datetime] | None:
    span = hours[day.weekday()]
    if span is None:
        return None
    midnight = datetime.combine(day, time.min)
    # Combine wall-clock times first and attach the zone after, so a DST change that night does not
    # shift the opening hours by an hour.
    return (midnight + span[0]).replace(tzinfo=tz), (midnight + span[1]).replace(tzinfo=tz)


def _business_day_end(*, hours, start: datetime) -> datetime:
    day = start.date()
    for _ in range(_WEEK + 1):
        span = _day_span(hours, day, start.tzinfo)
        if span is not None and start < span[1]:
            return span[1]
        day += timedelta(days=1)
    raise AssertionError("a facility with opening hours has an open day within a week")


def _after_opening_hours(*, hours, start: datetime, duration: timedelta) -> datetime:
    remaining = duration
    cursor = start
    day = start.date()
    while True:
        span = _day_span(hours, day, start.tzinfo)
        if span is not None and cursor < span[1]:
            opens, closes = span
            begin = max(cursor, opens)
            # Same tzinfo on both sides: Python subtracts wall-clock times, which is what opening
            # hours mean on a DST day.
            open_left = closes.replace(tzinfo=None) - begin.replace(tzinfo=None)
            if remaining <= open_left:
                return (begin.replace(tzinfo=None) + remaining).replace(tzinfo=start.tzinfo)
            remaining -= open_left
        day += timedelta(days=1)
        cursor = datetime.combine(day, time.min, tzinfo=start.tzinfo)


def pickup_expires_at(*, facility: Facility, ready_at: datetime) -> datetime:
    """When an uncollected pickup expires: closing time `facility.pickup_expiry_days` local days after the
    items were ready (the next open day's closing when that day is closed; local midnight without hours)."""
    tz = facility.tz
    day = ready_at.astimezone(tz).date() + timedelta(days=facility.pickup_expiry_days)
    start = datetime.combine(day, time.min, tzinfo=tz)
    hours = _opening_hours(_frozen(facility.opening_hours or {}))
    if not any(hours):
        return datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz).astimezone(ready_at.tzinfo)
    return _business_day_end(hours=hours, start=start).astimezone(ready_at.tzinfo)


def reroute_deadline(*, facility: Facility, created_at: datetime) -> datetime:
    """When an unstarted ship pick job created at `created_at` is withdrawn from the store.

    `facility.reroute_after_hours` opening hours after creation, counted like the pickup due time (time
    the store is closed does not count); a facility without any opening hours counts plain hours.
    """
    hours = _opening_hours(_frozen(facility.opening_hours or {}))
    duration = timedelta(hours=facility.reroute_after_hours)
    if not any(hours):
        return created_at + duration
    local = created_at.astimezone(facility.tz)
    return _after_opening_hours(hours=hours, start=local, duration=duration).astimezone(created_at.tzinfo)
