"""Distances for routing: the haversine distance and where a customer is (address coordinates or US postal code)."""

import math
from functools import lru_cache

import zipcodes

EARTH_RADIUS_KM = 6371.0
NO_COORDINATES_NOTE = "no coordinates for the address: distance rated neutral"

# zipcodes.matching() scans all 42k postal codes per call (~2 ms), so after this many distinct codes
# one index of them all (~1 s once per process) is cheaper than more scans.
_SCANS_BEFORE_INDEX = 256
_zip_index: dict[str, tuple[float, float]] | None = None
_zip_scans = 0


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in kilometres between two points given in degrees."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    half_dphi = (phi2 - phi1) / 2
    half_dlambda = math.radians(lon2 - lon1) / 2
    a = math.sin(half_dphi) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(half_dlambda) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def customer_coordinates(address: dict) -> tuple[float | None, float | None, str]:
    """(latitude, longitude, note) of a shipping address; (None, None, note) when it cannot be located."""
    latitude, longitude = _number(address.get("latitude")), _number(address.get("longitude"))
    if latitude is not None and longitude is not None and abs(latitude) <= 90 and abs(longitude) <= 180:
        return latitude, longitude, ""
    if str(address.get("country_code") or "").strip().upper() == "US":
        postal_code = _zip5(address.get("zip") or address.get("postal_code"))
        centre = _zip_centre(postal_code) if postal_code else None
        if centre is not None:
            return centre[0], centre[1], f"located by postal code {postal_code}"
    return None, None, NO_COORDINATES_NOTE


def _number(value) -> float | None:
    # bool is an int subclass, and a shop sends coordinates as numbers or numeric strings.
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _zip5(value) -> str:
    """The five-digit US postal code of "60601" or "60601-1234"; "" when it is not one."""
    text = str(value or "").strip()
    head = text.split("-", 1)[0]
    return head if len(head) == 5 and head.isdigit() else ""


@lru_cache(maxsize=65536)
def _zip_centre(postal_code: str) -> tuple[float, float] | None:
    global _zip_scans
    if _zip_index is None and _zip_scans >= _SCANS_BEFORE_INDEX:
        _build_zip_index()
    if _zip_index is not None:
        return _zip_index.get(postal_code)
    _zip_scans += 1
    for entry in zipcodes.matching(postal_code):
        centre = _entry_centre(entry)
        if centre is not None:
            return centre
    return None


def _build_zip_index() -> None:
    global _zip_index
    index: dict[str, tuple[float, float]] = {}
    for entry in zipcodes.list_all():
        centre = _entry_centre(entry)
        if centre is not None:
            index.setdefault(entry["zip_code"], centre)
    _zip_index = index


def _entry_centre(entry: dict) -> tuple[float, float] | None:
    latitude, longitude = _number(entry.get("lat")), _number(entry.get("long"))
    return None if latitude is None or longitude is None else (latitude, longitude)
