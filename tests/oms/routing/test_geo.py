"""Distances and customer locations for routing: haversine and offline US postal-code centres."""

import pytest

from oms.core.geo import NO_COORDINATES_NOTE, customer_coordinates, haversine_km

CHICAGO = (41.8781, -87.6298)
NEW_YORK = (40.7128, -74.0060)


def test_haversine_between_chicago_and_new_york():
    assert haversine_km(*CHICAGO, *NEW_YORK) == pytest.approx(1145, abs=5)


def test_haversine_is_symmetric_and_zero_at_one_point():
    assert haversine_km(*CHICAGO, *NEW_YORK) == pytest.approx(haversine_km(*NEW_YORK, *CHICAGO))
    assert haversine_km(*CHICAGO, *CHICAGO) == 0.0


def test_address_coordinates_win_over_the_postal_code():
    address = {"latitude": 40.0, "longitude": -75.0, "zip": "60601", "country_code": "US"}
    assert customer_coordinates(address) == (40.0, -75.0, "")


def test_numeric_strings_count_as_coordinates():
    assert customer_coordinates({"latitude": "52.52", "longitude": "13.40", "country_code": "DE"}) == (
        52.52, 13.40, "")


def test_us_postal_code_is_located_at_its_centre():
    latitude, longitude, note = customer_coordinates({"zip": "60601", "country_code": "US"})
    assert (latitude, longitude) == pytest.approx((41.8858, -87.6181), abs=0.01)
    assert note == "located by postal code 60601"


def test_zip_plus_four_and_a_missing_longitude_fall_back_to_the_postal_code():
    latitude, _, note = customer_coordinates({"latitude": 41.0, "zip": "10001-1234", "country_code": "us"})
    assert latitude == pytest.approx(40.75, abs=0.01)
    assert note == "located by postal code 10001"


@pytest.mark.parametrize(
    "address",
    [
        {"zip": "10115", "country_code": "DE"},  # postal codes are only looked up in the US
        {"zip": "00000", "country_code": "US"},  # no such code
        {"zip": "6060", "country_code": "US"},  # not a code at all
        {"latitude": "north", "longitude": None, "country_code": "FR"},
        {},
    ],
)
def test_address_that_cannot_be_located_is_rated_neutral(address):
    assert customer_coordinates(address) == (None, None, NO_COORDINATES_NOTE)
