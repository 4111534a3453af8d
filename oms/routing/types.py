"""The routing engine's vocabulary: plain data, no database. Every routing module speaks it."""

from dataclasses import dataclass, field
from datetime import date, datetime

# Fence names, in the order they are applied (the first one that removes a facility is counted).
ACTIVE_ONLINE = "ACTIVE_ONLINE"  # facility active and selling online
SERVICE = "SERVICE"  # offers ship-from-store (ship lines) or pickup (pickup lines)
COUNTRY = "COUNTRY"  # same country as the shipping address (ship lines)
PICKUP_STORE = "PICKUP_STORE"  # pickup lines: only the customer's chosen store
EXCLUDED = "EXCLUDED"  # not excluded for the line after a rejection or short pick
CAPACITY = "CAPACITY"  # pick jobs left today in the facility's own time zone
STOCK = "STOCK"  # has available stock for at least one line
FENCE_ORDER = (ACTIVE_ONLINE, SERVICE, COUNTRY, PICKUP_STORE, EXCLUDED, CAPACITY, STOCK)

RATINGS = ("stock", "distance", "workload", "priority", "kind")


@dataclass
class FacilityInfo:
    """What routing needs to know of one facility, read once per run."""

    id: int
    code: str
    name: str
    kind: str  # STORE | WAREHOUSE
    country: str
    latitude: float | None
    longitude: float | None
    active_online: bool  # is_active and sells_online
    ships: bool  # offers_ship_from_store (warehouses: True)
    pickup: bool  # offers_pickup
    priority: int  # 1..10
    daily_capacity: int | None  # None = unlimited
    jobs_today: int  # pick jobs created today in the facility's time zone
    open_jobs: int  # open + in-progress pick jobs (workload)
    fulfilled_by_wms: bool
    processing_mode: str  # AUTOMATIC | MANUAL

    @property
    def capacity_left(self) -> int | None:
        return None if self.daily_capacity is None else max(0, self.daily_capacity - self.jobs_today)


@dataclass
class World:
    """Facilities and available stock as the run sees them; decisions consume from it as they are made."""

    facilities: dict[int, FacilityInfo]
    # product_id -> {facility_id: available units (on_hand - reserved - safety_stock, never < 0)}
    stock: dict[int, dict[int, int]]
    # product_id -> {facility_id: stock level primary key} (for the reservation UPDATE)
    stock_level_ids: dict[int, dict[int, int]] = field(default_factory=dict)


@dataclass
class LineDemand:
    line_id: int
    product_id: int | None
    quantity: int
    kind: str  # STANDARD | PRE_ORDER | BACKORDER
    pickup_facility_id: int | None  # set for pickup lines
    excluded: frozenset[int] = frozenset()
    promise_date: date | None = None


@dataclass
class OrderDemand:
    """One order's queued lines of the queue being routed."""

    order_id: int
    name: str
    channel: str
    priority: int
    ordered_at: datetime
    country: str
    latitude: float | None  # from the shipping address, or geocoded from its postal code
    longitude: float | None
    lines: list[LineDemand]
    geocode_note: str = ""  # e.g. "located by postal code 60601" or "no coordinates: distance neutral"


@dataclass
class Candidate:
    facility_id: int
    code: str
    name: str
    score: float
    ratings: dict[str, float]  # each 0..1, keys RATINGS
    distance_km: float | None


@dataclass
class Allocation:
    """`quantity` of line `line_id` goes to `facility_id` (a part of a line when it is split)."""

    line_id: int
    facility_id: int
    quantity: int


@dataclass
class Parked:
    """`quantity` of line `line_id` found no facility and waits in `queue`."""

    line_id: int
    quantity: int
    queue: str  # UNFILLABLE | BOPIS_REJECTED


@dataclass
class Decision:
    order_id: int
    rule_id: int | None
    allocations: list[Allocation]
    parked: list[Parked]
    candidates: list[Candidate]  # top five, best first
    fences: dict[str, int]  # facilities each fence removed
    notes: list[str]
    # Lines no rule matched (left in their queue, untouched): line ids.
    unmatched: list[int] = field(default_factory=list)

    @property
    def outcome(self) -> str:
        if not self.allocations:
            return "PARKED" if self.parked else "UNMATCHED"
        return "PARTIAL" if self.parked else "ALLOCATED"
