"""The carrier registry: which adapters a deployment offers (settings.STOREFILL_CARRIERS) and the default one."""

from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from fulfillment.carriers.base import Carrier, CarrierError

__all__ = ["Carrier", "CarrierError", "carrier_default", "carrier_get", "carriers_available"]


@lru_cache(maxsize=8)
def _registry(paths: tuple[str, ...]) -> dict[str, Carrier]:
    """One instance per adapter class, keyed by code; cached per setting value, so override_settings just works."""
    carriers: dict[str, Carrier] = {}
    for path in paths:
        try:
            cls = import_string(path)
        except ImportError as exc:
            raise ImproperlyConfigured(f"STOREFILL_CARRIERS: cannot import {path!r} ({exc}).") from exc
        if not (isinstance(cls, type) and issubclass(cls, Carrier)):
            raise ImproperlyConfigured(f"STOREFILL_CARRIERS: {path!r} is not a Carrier subclass.")
        carrier = cls()
        if not carrier.code or not carrier.services:
            raise ImproperlyConfigured(f"STOREFILL_CARRIERS: {path!r} needs a code and at least one service.")
        if carrier.code in carriers:
            raise ImproperlyConfigured(f"STOREFILL_CARRIERS: two adapters use the code {carrier.code!r}.")
        carriers[carrier.code] = carrier
    return carriers


def _carriers() -> dict[str, Carrier]:
    return _registry(tuple(settings.STOREFILL_CARRIERS))


def carrier_get(code: str) -> Carrier:
    """The adapter with this code; CarrierError if the deployment does not offer it (e.g. a removed carrier)."""
    try:
        return _carriers()[code]
    except KeyError:
        raise CarrierError(f"Unknown carrier {code!r}.") from None


def carriers_available() -> list[Carrier]:
    """Every configured adapter, in the order of STOREFILL_CARRIERS."""
    return list(_carriers().values())


def carrier_default() -> Carrier:
    code = settings.STOREFILL_DEFAULT_CARRIER
    carriers = _carriers()
    if code not in carriers:
        raise ImproperlyConfigured(
            f"STOREFILL_DEFAULT_CARRIER {code!r} is not one of STOREFILL_CARRIERS ({', '.join(carriers) or 'none'})."
        )
    return carriers[code]
