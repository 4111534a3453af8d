"""What each document shows: the frozen dataclasses callers fill (no database here)."""

import datetime
from dataclasses import dataclass

from fulfillment.carriers.base import Address

# --- Data ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LabelData:
    sender: Address
    recipient: Address
    carrier_name: str
    service_name: str
    weight_grams: int
    tracking_number: str
    reference: str  # the order name
    parcel_index: int  # 1-based
    parcel_count: int
    shipped_on: datetime.date
    is_return: bool = False  # the caller passes the addresses already swapped


@dataclass(frozen=True)
class PackingSlipLine:
    sku: str
    name: str
    ordered_quantity: int
    shipped_quantity: int


@dataclass(frozen=True)
class PackingSlipData:
    facility_name: str
    facility_address: Address
    order_name: str
    ordered_on: datetime.date
    ship_to: Address
    lines: list[PackingSlipLine]
    note: str = ""


@dataclass(frozen=True)
class PickSheetRow:
    bin_location: str
    sku: str
    name: str
    barcode: str
    quantity: int
    order_name: str
    tote: str


@dataclass(frozen=True)
class PickSheetData:
    facility_name: str
    title: str
    pickers: list[str]
    printed_at: datetime.datetime  # already in the facility's local time
    rows: list[PickSheetRow]
    # The facility's country chooses the paper: Letter for US and CA (and when unknown), A4 elsewhere.
    facility_country: str = ""


@dataclass(frozen=True)
class ManifestRow:
    tracking_number: str
    order_name: str
    weight_grams: int
    service_name: str


@dataclass(frozen=True)
class ManifestData:
    facility_name: str
    facility_address: Address
    carrier_name: str
    printed_at: datetime.datetime  # already in the facility's local time
    rows: list[ManifestRow]
    scan_forms: tuple[str, ...] = ()  # the carrier's scan forms of today's parcels (EasyPost), printed with them
