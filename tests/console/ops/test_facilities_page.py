"""The console's facilities: the list and each facility's settings, validated, confirmed, saved and recorded."""

import pytest
from django.contrib.admin.models import LogEntry
from django.db import connection
from django.test.utils import CaptureQueriesContext

from stores.facility_settings import facility_settings_update
from stores.models import WEEKDAYS, Facility
from tests.factories import FacilityFactory

pytestmark = pytest.mark.django_db


def settings_post(facility: Facility, **changes) -> dict:
    data = {
        "daily_capacity": facility.daily_capacity or "", "processing_mode": facility.processing_mode,
        "pickup_service_hours": facility.pickup_service_hours, "pickup_reminder_hours": facility.pickup_reminder_hours,
        "pickup_expiry_days": facility.pickup_expiry_days, "time_zone": facility.time_zone,
        "pickup_alternatives_km": facility.pickup_alternatives_km,
        "sells_online": "on", "offers_ship_from_store": "on", "offers_pickup": "on", "allow_partial_rejection": "on",
    }
    for day in WEEKDAYS:
        hours = facility.opening_hours.get(day)
        if hours:
            data[f"{day}_opens"], data[f"{day}_closes"] = hours
        else:
            data[f"{day}_closed"] = "on"
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def test_facility_settings_are_confirmed_then_saved_and_recorded(ops_client, operations_user):
    store = FacilityFactory(code="SET-01", daily_capacity=40)
    post = settings_post(store, daily_capacity="60", offers_pickup=None, sun_closed=None, sun_opens="11:00",
                         sun_closes="17:00", time_zone="America/New_York")

    review = ops_client.post(f"/console/facilities/{store.pk}/", post)
    assert review.status_code == 200
    page = review.content.decode()
    assert "Save these changes to SET-01?" in page and "daily capacity: 40 → 60" in page
    store.refresh_from_db()
    assert store.daily_capacity == 40  # nothing saved before the confirmation

    saved = ops_client.post(f"/console/facilities/{store.pk}/", post | {"confirm": "1"}, follow=True)
    assert "SET-01 saved" in saved.content.decode()
    store.refresh_from_db()
    assert (store.daily_capacity, store.offers_pickup, store.time_zone) == (60, False, "America/New_York")
    assert store.opening_hours["sun"] == ["11:00", "17:00"] and store.opening_hours["mon"] == ["09:00", "18:00"]
    entry = LogEntry.objects.get(object_id=str(store.pk))
    assert entry.user == operations_user and "daily capacity: 40 → 60" in entry.change_message


def test_the_distance_of_pickup_alternatives_is_set_in_the_facility_settings(ops_client):
    store = FacilityFactory(code="SET-02")
    page = ops_client.get(f"/console/facilities/{store.pk}/").content.decode()
    assert 'name="pickup_alternatives_km" value="50"' in page

    saved = ops_client.post(f"/console/facilities/{store.pk}/", settings_post(store, pickup_alternatives_km="25")
                            | {"confirm": "1"}, follow=True)

    assert "pickup alternatives within (km): 50 → 25" in saved.content.decode()
    store.refresh_from_db()
    assert store.pickup_alternatives_km == 25


@pytest.mark.parametrize(("changes", "field_error"), [
    ({"daily_capacity": "-5"}, "Ensure this value is greater than or equal to 0."),
    ({"time_zone": "Mars/Olympus"}, "is not a known time zone"),
    ({"mon_opens": "18:00", "mon_closes": "09:00"}, "Monday: closing must come after opening (18:00)."),
    ({"tue_opens": "9am"}, "Give the opening time as HH:MM"),
    ({"wed_closes": "25:00"}, "Give the closing time as HH:MM"),
    ({"thu_opens": "", "thu_closes": ""}, "Give the opening time, or tick closed."),
    ({"pickup_expiry_days": "x"}, "Enter a whole number."),
    ({"pickup_alternatives_km": "0"}, "Ensure this value is greater than or equal to 1."),
])
def test_bad_facility_settings_are_refused_next_to_the_field_and_nothing_saved(ops_client, changes, field_error):
    store = FacilityFactory(code="BAD-01", daily_capacity=40)
    before = Facility.objects.filter(pk=store.pk).values().get()

    for confirm in ({}, {"confirm": "1"}):
        response = ops_client.post(f"/console/facilities/{store.pk}/", settings_post(store, **changes) | confirm)
        assert response.status_code == 400
        page = response.content.decode().replace("&#x27;", "'")
        assert field_error in page and 'class="ops-error-text"' in page and "Nothing was saved" in page
    assert Facility.objects.filter(pk=store.pk).values().get() == before
    assert not LogEntry.objects.exists()


def test_the_service_refuses_hours_the_model_would_let_through():
    store = FacilityFactory(code="SVC-01")
    with pytest.raises(Exception, match="times must look like 09:00"):
        facility_settings_update(facility_id=store.pk, changes={"opening_hours": {"mon": ["09:00", "25:00"]}})
    store.refresh_from_db()
    assert store.opening_hours["mon"] == ["09:00", "18:00"]


def test_facilities_list_shows_each_facilitys_settings(ops_client):
    FacilityFactory(code="LST-01", daily_capacity=None, offers_pickup=False, time_zone="Europe/Berlin")
    page = ops_client.get("/console/facilities/").content.decode()
    assert "LST-01" in page and "unlimited" in page and "Europe/Berlin" in page and "Ship from store" in page


def list_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/console/facilities/").status_code == 200
    return len(queries)


def test_facilities_list_queries_do_not_grow(ops_client):
    for n in range(2):
        FacilityFactory(code=f"F-{n:02d}")
    few = list_queries(ops_client)
    for n in range(2, 50):
        FacilityFactory(code=f"F-{n:02d}", time_zone="Europe/Berlin" if n % 2 else "America/Chicago")
    assert list_queries(ops_client) == few


def test_the_console_saves_the_label_settings_and_refuses_a_bad_printer(ops_client):
    store = FacilityFactory(code="LBL-02")
    bad = ops_client.post(f"/console/facilities/{store.pk}/", settings_post(store, label_printer="zebra 1; rm"))
    assert bad.status_code == 400 and "host name" in bad.content.decode()
    post = settings_post(store, label_format="ZPL", label_printer="10.0.4.20:9100", label_service="CHEAPEST_WITHIN:2",
                         confirm="1")
    assert ops_client.post(f"/console/facilities/{store.pk}/", post).status_code == 302
    store.refresh_from_db()
    assert (store.label_format, store.label_printer, store.label_service) == ("ZPL", "10.0.4.20:9100",
                                                                            "CHEAPEST_WITHIN:2")
