"""The offline carrier issues valid, never-repeated S10 tracking numbers; the registry follows the settings."""

import threading
import time

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import close_old_connections, connection, transaction
from django.test import override_settings

from fulfillment.carriers import carrier_default, carrier_get, carriers_available
from fulfillment.carriers.base import Address, Carrier, CarrierError, LabelRequest, ParcelSpec
from fulfillment.carriers.offline import OfflineCarrier, s10_check_digit, serial_next, tracking_number_valid
from fulfillment.models import CarrierSerial

STORE = Address(name="Storefill Chicago Loop", address1="120 N State St", city="Chicago", province="IL",
                postal_code="60602", country="US")
CUSTOMER = Address(name="Zoë Müller", address1="4567 W Fullerton Ave", city="Chicago", province="IL",
                   postal_code="60639", country="US")


def label_request(*, weight_grams=1250, service="GROUND", is_return=False) -> LabelRequest:
    return LabelRequest(sender=STORE, recipient=CUSTOMER, parcel=ParcelSpec(weight_grams=weight_grams),
                        service=service, reference="#1001", is_return=is_return)


class ParcelPigeon(Carrier):
    """A second adapter for the registry tests."""

    code = "pigeon"
    name = "Parcel Pigeon"
    services = (("WINGED", "Winged"),)


class NotACarrier:
    code = "nope"


# --- Tracking numbers ---------------------------------------------------------------------------


def test_known_s10_numbers_are_valid():
    assert tracking_number_valid("RA123456785US")
    assert tracking_number_valid("RR473124829GB")


def test_changing_any_digit_invalidates_the_number():
    assert not tracking_number_valid("RA123456784US")  # the check digit
    assert not tracking_number_valid("RA123456795US")  # a serial digit
    assert not tracking_number_valid("RA213456785US")  # two digits swapped


def test_malformed_numbers_are_invalid():
    for number in ("", "RA12345678US", "RA1234567855US", "ra123456785us", "1A123456785US", " RA123456785US"):
        assert not tracking_number_valid(number), number


def test_check_digit_maps_ten_to_zero_and_eleven_to_five():
    assert s10_check_digit("00004000") == 0  # 4 x 3 = 12, 12 mod 11 = 1, 11 - 1 = 10 -> 0
    assert s10_check_digit("00000000") == 5  # sum 0, 11 - 0 = 11 -> 5


def test_consecutive_labels_get_different_valid_numbers(db):
    carrier = OfflineCarrier()

    first, second = carrier.create_label(label_request()), carrier.create_label(label_request())

    assert first.tracking_number != second.tracking_number
    assert first.tracking_number == "SF000000014US"
    assert second.tracking_number == "SF000000028US"
    assert all(tracking_number_valid(result.tracking_number) for result in (first, second))


def test_label_carries_service_url_and_no_pdf(db):
    result = OfflineCarrier().create_label(label_request(service="EXPRESS"))

    assert result.service == "EXPRESS"
    assert result.tracking_url == f"https://track.storefill.example/{result.tracking_number}"
    assert result.label_pdf is None


def test_return_label_number_starts_with_rf(db):
    result = OfflineCarrier().create_label(label_request(is_return=True))

    assert result.tracking_number.startswith("RF") and result.tracking_number.endswith("US")
    assert tracking_number_valid(result.tracking_number)


def test_empty_service_means_the_first_service(db):
    assert OfflineCarrier().create_label(label_request(service="")).service == "GROUND"


def test_refused_label_uses_no_serial(db):
    carrier = OfflineCarrier()
    with pytest.raises(CarrierError, match="no service"):
        carrier.create_label(label_request(service="OVERNIGHT_BY_BOAT"))
    with pytest.raises(CarrierError, match="up to 30 kg"):
        carrier.create_label(label_request(weight_grams=30_001))

    assert not CarrierSerial.objects.filter(carrier=carrier.code).exists()


def test_serial_exhaustion_is_a_carrier_error(db):
    CarrierSerial.objects.create(carrier="storefill-post", last=99_999_999)

    with pytest.raises(CarrierError, match="run out"):
        OfflineCarrier().create_label(label_request())


# --- Rates and voiding --------------------------------------------------------------------------


def test_rates_follow_started_kilograms_for_every_service():
    carrier = OfflineCarrier()

    light = {rate.service: rate.amount for rate in carrier.rate(label_request(weight_grams=1000))}
    heavy = {rate.service: rate.amount for rate in carrier.rate(label_request(weight_grams=1001))}

    assert light == {"GROUND": "5.90", "EXPRESS": "12.50"}
    assert heavy == {"GROUND": "6.80", "EXPRESS": "14.30"}
    assert [rate.service for rate in carrier.rate(label_request())] == [code for code, _ in carrier.services]


def test_void_label_refuses_a_bad_check_digit():
    with pytest.raises(CarrierError, match="not a valid tracking number"):
        OfflineCarrier().void_label("SF000000015US")


def test_void_label_refuses_another_carriers_number():
    with pytest.raises(CarrierError, match="not issued by Storefill Post"):
        OfflineCarrier().void_label("RA123456785US")


def test_void_label_accepts_its_own_numbers():
    OfflineCarrier().void_label("SF000000014US")
    OfflineCarrier().void_label("RF000000028US")


# --- serial_next under concurrency --------------------------------------------------------------

THREADS = 8


def naive_serial_next(carrier: str) -> int:
    """Read, add one in Python, write: the race serial_next must avoid. Kept to prove the test can fail."""
    counter = CarrierSerial.objects.get(carrier=carrier)
    time.sleep(0.05)  # the gap in which another transaction reads the same value
    CarrierSerial.objects.filter(pk=counter.pk).update(last=counter.last + 1)
    return counter.last + 1


def serials_concurrently(next_serial, carrier: str) -> list[int]:
    """Each thread takes one serial inside its own transaction, all starting at once, and holds it a moment."""
    barrier = threading.Barrier(THREADS)
    serials: list[int] = []
    errors: list[BaseException] = []

    def worker():
        try:
            barrier.wait(timeout=10)
            with transaction.atomic():
                serials.append(next_serial(carrier))
                time.sleep(0.05)  # the rest of the caller's transaction (saving the parcel)
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors
    return serials


@pytest.mark.django_db(transaction=True)
def test_concurrent_transactions_never_get_the_same_serial():
    # No counter row yet: the first callers also race to create it.
    serials = serials_concurrently(serial_next, "race-carrier")

    assert sorted(serials) == list(range(1, THREADS + 1))
    assert CarrierSerial.objects.get(carrier="race-carrier").last == THREADS


@pytest.mark.django_db(transaction=True)
def test_naive_read_then_write_serial_is_caught_repeating():
    CarrierSerial.objects.create(carrier="naive-carrier")

    serials = serials_concurrently(naive_serial_next, "naive-carrier")

    assert len(set(serials)) < len(serials), "the harness failed to detect a racy counter"


def test_serial_rolled_back_with_the_callers_transaction_is_issued_again(db):
    with pytest.raises(RuntimeError), transaction.atomic():
        assert serial_next("rollback-carrier") == 1
        raise RuntimeError("the parcel could not be saved")

    assert serial_next("rollback-carrier") == 1


# --- Registry -----------------------------------------------------------------------------------


def test_registry_defaults_to_the_offline_carrier():
    assert [type(carrier) for carrier in carriers_available()] == [OfflineCarrier]
    assert carrier_default().code == "storefill-post"
    assert isinstance(carrier_get("storefill-post"), OfflineCarrier)


@override_settings(
    STOREFILL_CARRIERS=["fulfillment.carriers.offline.OfflineCarrier", "tests.fulfillment.test_carriers.ParcelPigeon"],
    STOREFILL_DEFAULT_CARRIER="pigeon",
)
def test_registry_picks_up_the_settings():
    assert [carrier.code for carrier in carriers_available()] == ["storefill-post", "pigeon"]
    assert isinstance(carrier_get("pigeon"), ParcelPigeon)
    assert carrier_default().name == "Parcel Pigeon"


def test_unknown_carrier_code_is_a_carrier_error():
    with pytest.raises(CarrierError, match="Unknown carrier 'pigeon'"):
        carrier_get("pigeon")


@override_settings(STOREFILL_DEFAULT_CARRIER="pigeon")
def test_default_carrier_must_be_configured():
    with pytest.raises(ImproperlyConfigured, match="not one of STOREFILL_CARRIERS"):
        carrier_default()


@override_settings(STOREFILL_CARRIERS=["tests.fulfillment.test_carriers.NotACarrier"])
def test_registry_refuses_a_class_that_is_not_a_carrier():
    with pytest.raises(ImproperlyConfigured, match="not a Carrier subclass"):
        carriers_available()


@override_settings(STOREFILL_CARRIERS=["fulfillment.carriers.offline.OfflineCarrier"] * 2)
def test_registry_refuses_two_adapters_with_one_code():
    with pytest.raises(ImproperlyConfigured, match="two adapters use the code"):
        carriers_available()
