"""Pick job due times count only opening hours, in the facility's own time zone."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from fulfillment.due import pick_due_at
from stores.models import Facility
from tests.factories import WEEK_9_TO_6

CHICAGO = ZoneInfo("America/Chicago")


def store(**fields) -> Facility:
    # pick_due_at reads only the facility's hours and zone: no database needed.
    defaults = {"time_zone": "America/Chicago", "opening_hours": dict(WEEK_9_TO_6), "pickup_service_hours": 2}
    return Facility(**(defaults | fields))


def chicago(day: int, hour: int, minute: int = 0) -> datetime:
    """A time in March 2025 in Chicago (3 March is a Monday)."""
    return datetime(2025, 3, day, hour, minute, tzinfo=CHICAGO)


def test_pickup_due_two_opening_hours_later_within_the_day():
    assert pick_due_at(facility=store(), created_at=chicago(3, 10), pickup=True) == chicago(3, 12)


def test_pickup_hours_spanning_closing_time_continue_at_the_next_opening():
    # One hour left on Monday (17:00-18:00), the second one from Tuesday's opening at 09:00.
    assert pick_due_at(facility=store(), created_at=chicago(3, 17), pickup=True) == chicago(4, 10)


def test_pickup_skips_a_closed_sunday():
    # Saturday 17:30: half an hour that day, Sunday closed, the rest from Monday 09:00.
    assert pick_due_at(facility=store(), created_at=chicago(8, 17, 30), pickup=True) == chicago(10, 10, 30)


def test_pickup_arriving_before_opening_starts_counting_at_opening():
    assert pick_due_at(facility=store(), created_at=chicago(4, 6), pickup=True) == chicago(4, 11)


def test_ship_due_at_the_end_of_the_business_day():
    assert pick_due_at(facility=store(), created_at=chicago(3, 10), pickup=False) == chicago(3, 18)
    assert pick_due_at(facility=store(), created_at=chicago(3, 7), pickup=False) == chicago(3, 18)


def test_ship_arriving_after_closing_is_due_at_the_next_open_days_close():
    assert pick_due_at(facility=store(), created_at=chicago(4, 19), pickup=False) == chicago(5, 18)
    # Saturday evening: Sunday is closed, so Monday's close.
    assert pick_due_at(facility=store(), created_at=chicago(8, 18, 30), pickup=False) == chicago(10, 18)


def test_due_time_uses_the_facilitys_time_zone():
    arrives = datetime(2025, 3, 4, 23, 30, tzinfo=UTC)  # Tuesday 17:30 in Chicago, Wednesday 00:30 in Berlin
    due_chicago = pick_due_at(facility=store(), created_at=arrives, pickup=False)
    due_berlin = pick_due_at(facility=store(time_zone="Europe/Berlin"), created_at=arrives, pickup=False)

    assert due_chicago == chicago(4, 18)
    assert due_berlin == datetime(2025, 3, 5, 18, tzinfo=ZoneInfo("Europe/Berlin"))
    assert due_chicago.tzinfo == UTC  # returned in the caller's zone


def test_pickup_across_a_daylight_saving_change_keeps_wall_clock_opening_hours():
    # Chicago moves its clocks forward on Sunday 9 March 2025; Monday still opens at 09:00 local.
    due = pick_due_at(facility=store(), created_at=chicago(8, 17), pickup=True)
    assert due == datetime(2025, 3, 10, 10, tzinfo=CHICAGO)
    assert due.utcoffset().total_seconds() == -5 * 3600


@pytest.mark.parametrize("hours", [{}, {day: None for day in WEEK_9_TO_6}])
def test_without_opening_hours_pickup_counts_plain_hours_and_ship_ends_at_midnight(hours):
    facility = store(opening_hours=hours)
    assert pick_due_at(facility=facility, created_at=chicago(9, 21), pickup=True) == chicago(9, 23)
    assert pick_due_at(facility=facility, created_at=chicago(9, 21), pickup=False) == chicago(10, 0)
    assert pick_due_at(facility=facility, created_at=chicago(9, 10), pickup=False) == chicago(10, 0)
