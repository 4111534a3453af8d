"""The carrier adapter interface: one class per carrier (rate, create label, void label, tracking URL).

Adapters are plain classes: the label services (fulfillment.labels) call them inside their own
transactions and store what they return on the Parcel. (The built-in offline carrier is the one that
touches the database: it numbers its labels from a CarrierSerial row, in the caller's transaction.) A carrier that draws
its own label returns the PDF in `LabelResult.label_pdf`; one that does not (the built-in offline
carrier) returns None and Storefill draws the label itself (fulfillment.documents).
"""

from dataclasses import dataclass, field


class CarrierError(Exception):
    """The carrier refused or could not be reached; the message is shown to the associate."""


@dataclass(frozen=True)
class Address:
    name: str
    address1: str
    city: str
    postal_code: str
    country: str
    address2: str = ""
    province: str = ""
    phone: str = ""
    company: str = ""


@dataclass(frozen=True)
class ParcelSpec:
    """What the carrier needs to know about one parcel."""

    weight_grams: int
    length_mm: int = 0
    width_mm: int = 0
    height_mm: int = 0


@dataclass(frozen=True)
class LabelRequest:
    sender: Address
    recipient: Address
    parcel: ParcelSpec
    service: str
    reference: str = ""  # shown on the label, e.g. the order name
    is_return: bool = False
    label_format: str = "PDF"  # or "ZPL" (203 dpi thermal printers)
    # What `label_prepare` returned for this parcel, stored and committed before the purchase: a carrier that
    # sells labels finds its own shipment again in it, so a retried purchase never buys a second label.
    carrier_state: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Rate:
    service: str
    name: str
    amount: str  # decimal as text, e.g. "7.40"
    currency: str
    days: int | None = None


@dataclass(frozen=True)
class LabelResult:
    tracking_number: str
    tracking_url: str
    service: str
    label_pdf: bytes | None = None  # None: Storefill draws the label
    label_zpl: bytes | None = None  # the carrier's thermal label, when asked for ZPL
    extra: dict = field(default_factory=dict)  # carrier_state to keep on the parcel (e.g. the carrier's ids)


class Carrier:
    """Base class of every carrier adapter."""

    code: str = ""
    name: str = ""
    # (service code, display name), the first is the default
    services: tuple[tuple[str, str], ...] = ()

    def rate(self, request: LabelRequest) -> list[Rate]:
        raise NotImplementedError

    def service_accepts(self, service: str) -> bool:
        """Whether `service` (a store's setting) names one of this carrier's services or rate policies."""
        return service in dict(self.services)

    def label_prepare(self, request: LabelRequest) -> dict:
        """What the carrier must remember before a label is bought (its shipment id), to be committed with the
        parcel first. A carrier whose purchase cannot be repeated by accident needs nothing: {}."""
        return {}

    def label_prepare_discard(self, carrier_state: dict) -> None:
        """The parcel changed (box, weight) before its prepared label was bought: forget the preparation.
        Raises CarrierError if a label was bought for it after all (then that label must be fetched first)."""

    def create_label(self, request: LabelRequest) -> LabelResult:
        raise NotImplementedError

    def void_label(self, tracking_number: str, *, carrier_state: dict | None = None) -> str:
        """Cancel a label; returns the refund's status in the carrier's words ("voided", "submitted", …)."""
        raise NotImplementedError

    def tracking_url(self, tracking_number: str, *, carrier_state: dict | None = None) -> str:
        raise NotImplementedError

    def scan_form_create(self, *, shipment_ids: list[str]) -> dict:
        """The carrier's end-of-day scan form (its manifest) of these shipments: {"id", "form_url",
        "tracking_codes"}. A carrier without one leaves this out: the driver signs Storefill's manifest."""
        raise CarrierError(f"{self.name} has no scan forms: the driver signs the manifest.")

    @property
    def prepares_labels(self) -> bool:
        return type(self).label_prepare is not Carrier.label_prepare

    @property
    def has_scan_forms(self) -> bool:
        return type(self).scan_form_create is not Carrier.scan_form_create
