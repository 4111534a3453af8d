"""The benchmark's shape and its results: the world's proportions (facilities, stock, orders, metros), the
configuration of a run, and what a run reports."""

from dataclasses import dataclass, field

from oms.models import (
    OrderLine,
)

QUEUE = OrderLine.Queue.BROKERING
SAMPLE_SIZE = 200
MAX_SPLIT = 3
SOURCE = "bench_brokering"

# The world's shape (shares are of facilities, products or orders).
WAREHOUSE_EVERY = 10  # every 10th facility is a warehouse
STOCKED_SHARE = 0.40  # each SKU has a stock row in about 40 % of facilities
MAX_ON_HAND = 20
SOLD_OUT_SHARE = 0.01  # SKUs whose stock rows all hold 0 units
SAFETY_STOCK_EVERY = 10  # every 10th stock row keeps one unit of safety stock
PICKUP_SHARE = 0.10
PICKUP_HOLDS_SHARE = 0.90  # pickup orders whose store holds every item
# Orders with a sold-out SKU; with the pickup orders whose store lacks items, about 5 % cannot be filled.
SOLD_OUT_ORDER_SHARE = 0.04
LINE_COUNTS, LINE_COUNT_WEIGHTS = (1, 2, 3, 4), (2, 3, 3, 2)  # 2.5 lines on average
QUANTITIES, QUANTITY_WEIGHTS = (1, 2, 3), (7, 2, 1)
LOCATED_SHARE = 0.92  # addresses with coordinates; of the rest most have a known postal code, a few none
STOCK_CHUNK = 50_000
ORDER_CHUNK = 5_000


@dataclass(frozen=True)
class Metro:
    city: str
    state: str
    zip: str
    latitude: float
    longitude: float
    time_zone: str


METROS = (
    Metro("New York", "NY", "10012", 40.7237, -73.9982, "America/New_York"),
    Metro("Boston", "MA", "02116", 42.3480, -71.0820, "America/New_York"),
    Metro("Philadelphia", "PA", "19103", 39.9517, -75.1680, "America/New_York"),
    Metro("Washington", "DC", "20007", 38.9050, -77.0630, "America/New_York"),
    Metro("Atlanta", "GA", "30326", 33.8470, -84.3620, "America/New_York"),
    Metro("Miami", "FL", "33139", 25.7906, -80.1400, "America/New_York"),
    Metro("Charlotte", "NC", "28202", 35.2271, -80.8431, "America/New_York"),
    Metro("Detroit", "MI", "48226", 42.3314, -83.0458, "America/Detroit"),
    Metro("Columbus", "OH", "43215", 39.9612, -82.9988, "America/New_York"),
    Metro("Chicago", "IL", "60611", 41.8976, -87.6240, "America/Chicago"),
    Metro("Minneapolis", "MN", "55403", 44.9778, -93.2650, "America/Chicago"),
    Metro("St. Louis", "MO", "63101", 38.6270, -90.1994, "America/Chicago"),
    Metro("Nashville", "TN", "37203", 36.1627, -86.7816, "America/Chicago"),
    Metro("Dallas", "TX", "75225", 32.8686, -96.7735, "America/Chicago"),
    Metro("Houston", "TX", "77056", 29.7390, -95.4627, "America/Chicago"),
    Metro("Austin", "TX", "78701", 30.2672, -97.7431, "America/Chicago"),
    Metro("Kansas City", "MO", "64105", 39.0997, -94.5786, "America/Chicago"),
    Metro("Denver", "CO", "80206", 39.7170, -104.9530, "America/Denver"),
    Metro("Salt Lake City", "UT", "84101", 40.7684, -111.8910, "America/Denver"),
    Metro("Phoenix", "AZ", "85004", 33.4484, -112.0740, "America/Phoenix"),
    Metro("Las Vegas", "NV", "89101", 36.1699, -115.1398, "America/Los_Angeles"),
    Metro("Los Angeles", "CA", "90036", 34.0720, -118.3570, "America/Los_Angeles"),
    Metro("San Diego", "CA", "92101", 32.7157, -117.1611, "America/Los_Angeles"),
    Metro("San Francisco", "CA", "94103", 37.7841, -122.4075, "America/Los_Angeles"),
    Metro("Portland", "OR", "97204", 45.5190, -122.6780, "America/Los_Angeles"),
    Metro("Seattle", "WA", "98101", 47.6120, -122.3370, "America/Los_Angeles"),
)


# --- Results --------------------------------------------------------------------------------------


class BenchError(Exception):
    """The benchmark refuses to run (e.g. on a database it does not own)."""


@dataclass
class BenchConfig:
    orders: int
    facilities: int
    skus: int
    seed: int = 1
    sample: int = SAMPLE_SIZE


@dataclass
class BenchWorld:
    """What the builder made, as far as the checks need it."""

    order_ids: list[int]
    lines: int
    units: int
    sample_ids: list[int]


@dataclass
class Snapshot:
    """The world before the run as plain data, for the reference to decide the sampled orders against."""

    facilities: dict[int, dict]
    # Only the sampled orders' products: no other stock can change their decisions.
    stock: dict[tuple[int, int], int]
    rules: list[dict]
    orders: dict[int, dict]  # sampled order id -> the reference's order shape


@dataclass
class Check:
    name: str
    ok: bool
    detail: str = ""


@dataclass
class BenchResult:
    orders: int
    lines: int
    seconds: float
    peak_rss_mb: int
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    def summary_line(self) -> str:
        rate = self.orders / self.seconds if self.seconds else 0.0
        return (f"orders={self.orders} lines={self.lines} seconds={self.seconds:.2f} orders_per_s={rate:.0f} "
                f"peak_rss_mb={self.peak_rss_mb}")
