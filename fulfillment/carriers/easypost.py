"""EasyPost: real labels from many carriers (USPS, UPS, FedEx, DHL, …) through one API and the official SDK.

Enabled by `EASYPOST_API_KEY` and `fulfillment.carriers.easypost.EasyPostCarrier` in `STOREFILL_CARRIERS`
(docs/carriers.md). A label is bought in two steps so that it is bought once, whatever fails:

1. `label_prepare` creates the EasyPost shipment (addresses, parcel, label format) and returns its id, which the
   label service commits on the parcel before anything is bought;
2. `create_label` reads that shipment back: if it already has postage (an earlier purchase whose answer was
   lost to a timeout, a crash or a double tap), that label is used; otherwise the chosen rate is bought. EasyPost
   never sells a second label for one shipment, and we never make a second shipment for one parcel label.

A service is chosen by a policy string: "CHEAPEST" (the default), "CHEAPEST_WITHIN:<days>", or a fixed
"<carrier>:<service>" such as "USPS:Priority". Every EasyPost error becomes a CarrierError in the associate's
words, logged with EasyPost's error code; nothing on the parcel changes.
"""

import logging
from decimal import Decimal

import requests
from django.conf import settings
from easypost import EasyPostClient
from easypost.errors import ApiError, EasyPostError, HttpError, PaymentError, TimeoutError, UnauthorizedError

from fulfillment.carriers.base import Address, Carrier, CarrierError, LabelRequest, LabelResult, Rate

logger = logging.getLogger(__name__)

CHEAPEST = "CHEAPEST"
WITHIN = "CHEAPEST_WITHIN:"
OUNCES_PER_GRAM = Decimal("0.035274")
INCHES_PER_MM = Decimal("0.0393701")
POSTAGE_EXISTS = "SHIPMENT.POSTAGE.EXISTS"


class EasyPostCarrier(Carrier):
    code = "easypost"
    name = "EasyPost"
    services = ((CHEAPEST, "Cheapest rate"), (f"{WITHIN}2", "Cheapest arriving within 2 days"))

    def __init__(self):
        self._clients: dict[tuple, EasyPostClient] = {}

    @property
    def client(self) -> EasyPostClient:
        """The SDK's client for the current settings (one per key, address and timeout: the registry keeps one
        adapter per process, while settings may differ between tests)."""
        if not settings.EASYPOST_API_KEY:
            raise CarrierError("EasyPost is not set up (no API key): ask the office, or choose another carrier.")
        key = (settings.EASYPOST_API_KEY, settings.EASYPOST_API_BASE, settings.EASYPOST_TIMEOUT)
        if key not in self._clients:
            self._clients[key] = EasyPostClient(key[0], api_base=key[1], timeout=key[2])
        return self._clients[key]

    # --- the interface ---------------------------------------------------------------------------------

    def rate(self, request: LabelRequest) -> list[Rate]:
        """The rates of this parcel's shipment (created if the request carries none), cheapest first."""
        shipment = self._shipment(request)
        return sorted((self._rate(rate) for rate in shipment.rates), key=lambda rate: Decimal(rate.amount))

    def service_accepts(self, service: str) -> bool:
        return service == CHEAPEST or (service.startswith(WITHIN) and service[len(WITHIN):].isdigit()) or (
            ":" in service and not service.startswith(WITHIN))

    def label_prepare(self, request: LabelRequest) -> dict:
        if request.carrier_state.get("shipment_id"):
            return dict(request.carrier_state)
        shipment = self._call("create the shipment", lambda: self.client.shipment.create(**self._params(request)))
        return {"shipment_id": shipment.id}

    def label_prepare_discard(self, carrier_state: dict) -> None:
        shipment_id = carrier_state.get("shipment_id")
        if shipment_id and self._retrieve(shipment_id).postage_label is not None:
            raise CarrierError("A label was already bought for this parcel: tap Create label to fetch it, then "
                               "void it if the box or weight was wrong.")

    def create_label(self, request: LabelRequest) -> LabelResult:
        state = self.label_prepare(request)
        shipment = self._retrieve(state["shipment_id"])
        if shipment.postage_label is None:
            rate = self._choose(shipment, request.service)
            try:
                shipment = self.client.shipment.buy(shipment.id, rate={"id": rate.id})
            except ApiError as exc:
                if _code(exc) != POSTAGE_EXISTS:  # bought meanwhile by another try: read what it bought
                    raise self._error("buy the label", exc) from exc
                shipment = self._retrieve(shipment.id)
            except EasyPostError as exc:
                raise self._error("buy the label", exc) from exc
        label = self._download(shipment.postage_label.label_url)
        selected = shipment.selected_rate
        zpl = request.label_format == "ZPL"
        return LabelResult(
            tracking_number=shipment.tracking_code,
            tracking_url=shipment.tracker.public_url if shipment.tracker else "",
            service=f"{selected.carrier}:{selected.service}",
            label_pdf=None if zpl else label, label_zpl=label if zpl else None,
            extra={"shipment_id": shipment.id, "tracker_id": shipment.tracker.id if shipment.tracker else "",
                   "rate": {"carrier": selected.carrier, "service": selected.service, "amount": selected.rate,
                            "currency": selected.currency}},
        )

    def void_label(self, tracking_number: str, *, carrier_state: dict | None = None) -> str:
        shipment_id = (carrier_state or {}).get("shipment_id")
        if not shipment_id:
            raise CarrierError(f"{tracking_number} has no EasyPost shipment on record: void it in EasyPost's "
                               "dashboard.")
        shipment = self._call("refund the label", lambda: self.client.shipment.refund(shipment_id))
        return shipment.refund_status or "submitted"

    def tracking_url(self, tracking_number: str, *, carrier_state: dict | None = None) -> str:
        return (carrier_state or {}).get("tracking_url", "")

    def scan_form_create(self, *, shipment_ids: list[str]) -> dict:
        """The end-of-day scan form (manifest) of these bought shipments: {"id", "form_url", "tracking_codes"}."""
        form = self._call("create the scan form", lambda: self.client.scan_form.create(
            shipments=[{"id": shipment_id} for shipment_id in shipment_ids]))
        return {"id": form.id, "form_url": form.form_url, "tracking_codes": list(form.tracking_codes)}

    # --- steps -----------------------------------------------------------------------------------------

    def _shipment(self, request: LabelRequest):
        return self._retrieve(self.label_prepare(request)["shipment_id"])

    def _retrieve(self, shipment_id: str):
        return self._call("read the shipment", lambda: self.client.shipment.retrieve(shipment_id))

    def _params(self, request: LabelRequest) -> dict:
        parcel = request.parcel
        params = {
            "from_address": _address(request.sender), "to_address": _address(request.recipient),
            "parcel": {"weight": float((Decimal(max(parcel.weight_grams, 1)) * OUNCES_PER_GRAM).quantize(
                Decimal("0.1")))},
            "options": {"label_format": "ZPL" if request.label_format == "ZPL" else "PDF"},
            "reference": request.reference,
        }
        for name, mm in (("length", parcel.length_mm), ("width", parcel.width_mm), ("height", parcel.height_mm)):
            if mm:
                params["parcel"][name] = float((Decimal(mm) * INCHES_PER_MM).quantize(Decimal("0.1")))
        if request.is_return:
            params["is_return"] = True
        return params

    def _choose(self, shipment, policy: str):
        rates = sorted(shipment.rates, key=lambda rate: Decimal(rate.rate))
        if not rates:
            messages = "; ".join(message.get("message", "") for message in (shipment.messages or []))
            logger.warning("EasyPost shipment %s has no rates: %s", shipment.id, messages)
            raise CarrierError("No carrier offers a rate for this parcel (its weight, size or destination)"
                               + (f": {messages}" if messages else "") + ". Ask the office.")
        policy = policy or CHEAPEST
        if policy == CHEAPEST:
            return rates[0]
        if policy.startswith(WITHIN):
            days = int(policy[len(WITHIN):])
            fast = [rate for rate in rates if rate.delivery_days is not None and rate.delivery_days <= days]
            if not fast:
                raise CarrierError(f"No rate arrives within {days} days for this parcel: choose a rate by hand.")
            return fast[0]
        carrier, _, service = policy.partition(":")
        for rate in rates:
            if rate.carrier == carrier and rate.service == service:
                return rate
        raise CarrierError(f"{carrier} {service} is not offered for this parcel: choose another rate.")

    def _download(self, url: str) -> bytes:
        try:
            response = requests.get(url, timeout=settings.EASYPOST_TIMEOUT)
            response.raise_for_status()
        except requests.RequestException as exc:
            logger.warning("EasyPost label download failed: %s", exc)
            raise CarrierError("The label was bought but could not be downloaded: tap Create label again to "
                               "fetch it (nothing is bought twice).") from exc
        return response.content

    def _call(self, doing: str, call):
        try:
            return call()
        except EasyPostError as exc:
            raise self._error(doing, exc) from exc

    def _error(self, doing: str, exc: EasyPostError) -> CarrierError:
        code = _code(exc)
        message = getattr(exc, "message", "") or str(exc)
        logger.warning("EasyPost could not %s: %s (%s)", doing, message, code or type(exc).__name__)
        if isinstance(exc, TimeoutError | HttpError):  # HttpError: the SDK's own retries gave up (no answer)
            return CarrierError("EasyPost did not answer in time or could not be reached: try again in a minute "
                                "(nothing is bought twice).")
        if isinstance(exc, UnauthorizedError):
            return CarrierError("EasyPost does not accept Storefill's key: ask the office to check it.")
        if isinstance(exc, PaymentError):
            return CarrierError("The shipping account has not enough funds: ask the office to top it up; the parcel "
                                "stays without a label.")
        if code.startswith("ADDRESS."):
            return CarrierError(f"The carrier does not accept the address ({message.rstrip('.')}): check it with the "
                                "office.")
        if (getattr(exc, "http_status", 0) or 0) >= 500:
            return CarrierError("EasyPost is having trouble: try again in a minute (nothing is bought twice).")
        return CarrierError(f"EasyPost refused to {doing}: {message}")

    @staticmethod
    def _rate(rate) -> Rate:
        return Rate(service=f"{rate.carrier}:{rate.service}", name=f"{rate.carrier} {rate.service}", amount=rate.rate,
                    currency=rate.currency, days=rate.delivery_days)


def _address(address: Address) -> dict:
    return {"name": address.name, "company": address.company, "street1": address.address1,
            "street2": address.address2, "city": address.city, "state": address.province, "zip": address.postal_code,
            "country": address.country, "phone": address.phone}


def _code(exc: Exception) -> str:
    body = getattr(exc, "json_body", None) or {}
    error = body.get("error") if isinstance(body, dict) else None
    return (error or {}).get("code", "") if isinstance(error, dict) else ""
