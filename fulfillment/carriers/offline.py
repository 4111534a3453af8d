"""Storefill Post: the built-in offline carrier, numbering its parcels with UPU S10 tracking numbers.

It needs no network: rates come from a fixed table, tracking numbers from the CarrierSerial counter
in our own database, and the label is drawn by Storefill (fulfillment.documents). It is what the demo
and the tests label with, and the fallback for a store whose real carrier is down.
"""

import re
from decimal import Decimal

from django.db import transaction
from django.db.models import F

from fulfillment.carriers.base import Carrier, CarrierError, LabelRequest, LabelResult, Rate
from fulfillment.models import CarrierSerial

S10_WEIGHTS = (8, 6, 4, 2, 3, 5, 9, 7)
S10_PATTERN = re.compile(r"^([A-Z]{2})(\d{8})(\d)([A-Z]{2})$")
SERIAL_MAX = 99_999_999  # eight digits

OUTBOUND_PREFIX = "SF"
RETURN_PREFIX = "RF"
COUNTRY_SUFFIX = "US"

MAX_WEIGHT_GRAMS = 30_000
# service: (first kilogram, each further started kilogram, days)
TARIFF = {
    "GROUND": (Decimal("5.90"), Decimal("0.90"), 5),
    "EXPRESS": (Decimal("12.50"), Decimal("1.80"), 1),
}
CURRENCY = "USD"


def s10_check_digit(serial: str) -> int:
    """The S10 check digit of an 8-digit serial: weights 8 6 4 2 3 5 9 7, 11 - sum mod 11, 10 → 0, 11 → 5."""
    check = 11 - sum(int(digit) * weight for digit, weight in zip(serial, S10_WEIGHTS, strict=True)) % 11
    return {10: 0, 11: 5}.get(check, check)


def tracking_number_valid(number: str) -> bool:
    """True for a well-formed S10 number (two letters, 8 digits, the check digit, two letters)."""
    match = S10_PATTERN.match(number)
    return bool(match) and s10_check_digit(match.group(2)) == int(match.group(3))


def tracking_number_format(*, prefix: str, serial: int) -> str:
    if not 0 < serial <= SERIAL_MAX:
        raise CarrierError(f"Storefill Post has run out of tracking numbers (serial {serial}).")
    digits = f"{serial:08d}"
    return f"{prefix}{digits}{s10_check_digit(digits)}{COUNTRY_SUFFIX}"


def serial_next(carrier: str) -> int:
    """The next serial of `carrier`, never handed out twice, even to two transactions at once.

    Runs inside the caller's transaction: the UPDATE locks the counter row until that transaction
    ends, so a concurrent caller waits and then increments the committed value. If the caller rolls
    back, the serial is given back with everything else. The first call creates the row;
    ON CONFLICT DO NOTHING (INSERT OR IGNORE on SQLite) lets two first callers race without an error.
    """
    with transaction.atomic():
        counter = CarrierSerial.objects.filter(carrier=carrier)
        if not counter.update(last=F("last") + 1):
            CarrierSerial.objects.bulk_create([CarrierSerial(carrier=carrier)], ignore_conflicts=True)
            counter.update(last=F("last") + 1)
        # Our UPDATE holds the row lock, so this reads our own increment, not a later one.
        return counter.values_list("last", flat=True).get()


class OfflineCarrier(Carrier):
    code = "storefill-post"
    name = "Storefill Post"
    services = (("GROUND", "Ground, 3–5 days"), ("EXPRESS", "Express, next day"))

    def rate(self, request: LabelRequest) -> list[Rate]:
        """One rate per service, in the order of `services`; the associate chooses among them."""
        kilograms = self._billable_kilograms(request.parcel.weight_grams)
        names = dict(self.services)
        rates = []
        for service, (first, further, days) in TARIFF.items():
            amount = first + further * (kilograms - 1)
            rates.append(Rate(service=service, name=names[service], amount=f"{amount:.2f}", currency=CURRENCY,
                              days=days))
        return rates

    def create_label(self, request: LabelRequest) -> LabelResult:
        """A new tracking number (SF…US, RF…US for a return); the label itself is drawn by Storefill."""
        service = self._service(request.service)
        self._billable_kilograms(request.parcel.weight_grams)
        prefix = RETURN_PREFIX if request.is_return else OUTBOUND_PREFIX
        number = tracking_number_format(prefix=prefix, serial=serial_next(self.code))
        return LabelResult(tracking_number=number, tracking_url=self.tracking_url(number), service=service,
                           label_pdf=None)

    def void_label(self, tracking_number: str, *, carrier_state: dict | None = None) -> str:
        """Nothing to cancel offline, but a number that is not ours is refused (a typo, another carrier's)."""
        match = S10_PATTERN.match(tracking_number)
        if not tracking_number_valid(tracking_number):
            raise CarrierError(f"{tracking_number!r} is not a valid tracking number (check digit or format).")
        if match.group(1) not in (OUTBOUND_PREFIX, RETURN_PREFIX) or match.group(4) != COUNTRY_SUFFIX:
            raise CarrierError(f"{tracking_number} was not issued by {self.name}.")
        return "voided"

    def tracking_url(self, tracking_number: str, *, carrier_state: dict | None = None) -> str:
        return f"https://track.storefill.example/{tracking_number}"

    def _service(self, service: str) -> str:
        if not service:
            return self.services[0][0]
        if service not in TARIFF:
            raise CarrierError(f"{self.name} has no service {service!r}.")
        return service

    def _billable_kilograms(self, weight_grams: int) -> int:
        """Started kilograms, at least one; a parcel over the limit is refused before a number is used."""
        if weight_grams < 0:
            raise CarrierError("The parcel weight cannot be negative.")
        if weight_grams > MAX_WEIGHT_GRAMS:
            raise CarrierError(f"{self.name} takes parcels up to {MAX_WEIGHT_GRAMS // 1000} kg; "
                               f"this one weighs {weight_grams / 1000:g} kg.")
        return max(1, -(-weight_grams // 1000))
