"""The EasyPost adapter through the official SDK against a local fake EasyPost (tests/fake_easypost.py)."""

import pytest

from fulfillment.carriers.base import Address, CarrierError, LabelRequest, ParcelSpec
from fulfillment.carriers.easypost import EasyPostCarrier
from tests.fake_easypost import API_KEY, BAD_ZIP, FakeEasyPost

SENDER = Address(name="Storefill Chicago", address1="1 Main St", city="Chicago", postal_code="60601", country="US",
                 province="IL")
RECIPIENT = Address(name="Ada Lovelace", address1="5 Elm St", city="Boston", postal_code="02108", country="US",
                    province="MA")


@pytest.fixture(scope="module")
def fake():
    server = FakeEasyPost()
    yield server
    server.stop()


@pytest.fixture
def easypost(fake, settings):
    settings.EASYPOST_API_KEY, settings.EASYPOST_API_BASE, settings.EASYPOST_TIMEOUT = API_KEY, fake.api_base, 2
    fake.delay, fake.slow, fake.fail_next = 0.0, {}, {}
    return EasyPostCarrier()


def request(**changes) -> LabelRequest:
    fields = {"sender": SENDER, "recipient": RECIPIENT, "parcel": ParcelSpec(weight_grams=900, length_mm=300,
              width_mm=200, height_mm=100), "service": "", "reference": "#1042"}
    return LabelRequest(**(fields | changes))


def test_rates_come_from_easypost_cheapest_first(easypost, fake):
    rates = easypost.rate(request())
    assert [(rate.service, rate.amount, rate.days) for rate in rates] == [
        ("USPS:GroundAdvantage", "5.10", 5), ("USPS:Priority", "7.80", 2), ("UPS:NextDayAir", "24.60", 1)]
    method, path, body = fake.requests[-2]  # create, then read back
    assert (method, path) == ("POST", "/v2/shipments")
    shipment = body["shipment"]
    assert shipment["parcel"] == {"weight": 31.7, "length": 11.8, "width": 7.9, "height": 3.9}  # oz and inches
    assert shipment["to_address"]["zip"] == "02108" and shipment["options"] == {"label_format": "PDF"}


@pytest.mark.parametrize("policy, bought", [
    ("", "USPS:GroundAdvantage"), ("CHEAPEST", "USPS:GroundAdvantage"), ("CHEAPEST_WITHIN:2", "USPS:Priority"),
    ("UPS:NextDayAir", "UPS:NextDayAir"),
])
def test_the_policy_chooses_the_rate_bought(easypost, policy, bought):
    result = easypost.create_label(request(service=policy))
    assert result.service == bought
    assert result.tracking_number.startswith("EZ") and result.tracking_url.startswith("https://track.")
    assert result.label_pdf.startswith(b"%fake-label") and result.label_zpl is None


def test_a_purchase_retried_with_the_prepared_shipment_buys_one_label(easypost, fake):
    state = easypost.label_prepare(request())
    before = fake.purchases
    first = easypost.create_label(request(carrier_state=state))
    again = easypost.create_label(request(carrier_state=state))  # a double tap, a worker retry, a lost answer
    assert fake.purchases == before + 1
    assert again.tracking_number == first.tracking_number and again.extra["shipment_id"] == state["shipment_id"]


def test_a_purchase_whose_answer_was_lost_is_found_not_bought_again(easypost, fake):
    state = easypost.label_prepare(request())
    bought = fake.purchases
    fake.slow = {r"/v2/shipments/shp_\w+/buy": 3}  # EasyPost buys, but answers after the client gave up
    with pytest.raises(CarrierError, match="did not answer in time"):
        easypost.create_label(request(carrier_state=state))
    fake.slow = {}
    assert fake.purchases == bought + 1
    result = easypost.create_label(request(carrier_state=state))
    assert fake.purchases == bought + 1 and result.tracking_number  # the lost purchase, found, not a second one


def test_postage_bought_meanwhile_by_another_try_is_read_back(easypost, fake):
    state = easypost.label_prepare(request())
    fake.fail(r"/v2/shipments/shp_\w+/buy", 422, "SHIPMENT.POSTAGE.EXISTS", "Postage already exists.")
    shipment = fake.shipments[state["shipment_id"]]
    rate = shipment["rates"][0]
    fake._shipment_buy(state["shipment_id"], {"rate": {"id": rate["id"]}})  # the other try's purchase
    result = easypost.create_label(request(carrier_state=state))
    assert result.tracking_number == shipment["tracking_code"]


def test_a_zpl_label_is_asked_for_and_returned_as_zpl(easypost, fake):
    result = easypost.create_label(request(label_format="ZPL"))
    assert result.label_zpl.startswith(b"%fake-label") and result.label_pdf is None
    assert fake.shipments[result.extra["shipment_id"]]["options"] == {"label_format": "ZPL"}


def test_voiding_asks_for_a_refund_and_keeps_its_status(easypost, fake):
    result = easypost.create_label(request())
    status = easypost.void_label(result.tracking_number, carrier_state=result.extra)
    assert status == "submitted"
    assert fake.shipments[result.extra["shipment_id"]]["refund_status"] == "submitted"


def test_the_end_of_day_scan_form_lists_the_days_parcels(easypost):
    labels = [easypost.create_label(request()) for _ in range(2)]
    form = easypost.scan_form_create(shipment_ids=[label.extra["shipment_id"] for label in labels])
    assert form["tracking_codes"] == [label.tracking_number for label in labels]
    assert form["form_url"].endswith(".pdf")


@pytest.mark.parametrize("setup, says", [
    (lambda fake: None, "does not accept the address"),  # the bad zip below
    (lambda fake: fake.fail(r"/v2/shipments/shp_\w+/buy", 402, "PAYMENT.INSUFFICIENT_FUNDS", "Insufficient funds."),
     "not enough funds"),
    (lambda fake: fake.fail(r"/v2/shipments", 500, "INTERNAL_SERVER_ERROR", "Oops."), "having trouble"),
    (lambda fake: fake.fail(r"/v2/shipments", 401, "APIKEY.INVALID", "The API key is invalid."), "key"),
])
def test_easypost_errors_reach_the_associate_in_plain_words(easypost, fake, setup, says):
    setup(fake)
    recipient = RECIPIENT if says != "does not accept the address" else Address(
        name="Ada", address1="5 Elm St", city="Nowhere", postal_code=BAD_ZIP, country="US")
    with pytest.raises(CarrierError, match=says):
        easypost.create_label(request(recipient=recipient))


def test_a_parcel_no_carrier_takes_says_so(easypost):
    with pytest.raises(CarrierError, match="No carrier offers a rate"):
        easypost.create_label(request(parcel=ParcelSpec(weight_grams=40_000)))


def test_a_fixed_service_not_offered_is_refused_before_buying(easypost, fake):
    before = fake.purchases
    with pytest.raises(CarrierError, match="FedEx Ground is not offered"):
        easypost.create_label(request(service="FedEx:Ground"))
    assert fake.purchases == before


def test_without_a_key_the_carrier_says_it_is_not_set_up(settings):
    settings.EASYPOST_API_KEY = ""
    with pytest.raises(CarrierError, match="not set up"):
        EasyPostCarrier().rate(request())
