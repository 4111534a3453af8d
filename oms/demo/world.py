"""The demo world: its facilities (stores and a warehouse with hours and places), its catalog (families of
products with sizes and colours, real EAN-13 barcodes) and how much of each is where."""

import random
from dataclasses import dataclass
from decimal import Decimal

from stores.models import Facility

DEMO_PASSWORD = "storefill-demo"
SEED = 2026
FIRST_ORDER_ID = 7_000_000_001
FIRST_ORDER_NUMBER = 1001
ORDER_COUNT = 200
SOURCE = "seed_demo"


# --- Facilities ----------------------------------------------------------------------------------

MALL_HOURS = {day: ["10:00", "21:00"] for day in ("mon", "tue", "wed", "thu", "fri", "sat")} | {
    "sun": ["11:00", "18:00"]
}
STREET_HOURS = {day: ["09:00", "20:00"] for day in ("mon", "tue", "wed", "thu", "fri")} | {
    "sat": ["10:00", "19:00"], "sun": ["11:00", "17:00"]
}
# A few neighbourhood stores keep Sunday closed, so due times that cross a closed day show up in the demo.
CLOSED_SUNDAY_HOURS = {day: ["09:00", "19:00"] for day in ("mon", "tue", "wed", "thu", "fri", "sat")} | {"sun": None}
WAREHOUSE_HOURS = {day: ["06:00", "22:00"] for day in ("mon", "tue", "wed", "thu", "fri")} | {
    "sat": ["08:00", "16:00"], "sun": None
}


@dataclass(frozen=True)
class FacilitySpec:
    code: str
    name: str
    address1: str
    city: str
    province: str
    postal_code: str
    latitude: float
    longitude: float
    time_zone: str
    phone: str
    hours: dict
    offers_pickup: bool = True
    offers_ship_from_store: bool = True
    daily_capacity: int | None = 60
    priority: int = 5
    kind: str = Facility.Kind.STORE
    fulfilled_by_wms: bool = False
    # Zip codes around the store where demo customers live.
    customer_zips: tuple[str, ...] = ()

    @property
    def login_prefix(self) -> str:
        return login_prefix(self.code)


def login_prefix(code: str) -> str:
    """Demo usernames start with the facility code without its dash: nyc01-manager for NYC-01."""
    return code.replace("-", "").lower()


NY, CHI, DEN = "America/New_York", "America/Chicago", "America/Denver"
PHX, LA = "America/Phoenix", "America/Los_Angeles"  # Arizona keeps standard time all year

FACILITIES = (
    FacilitySpec("NYC-01", "Storefill SoHo", "560 Broadway", "New York", "NY", "10012", 40.7237, -73.9982, NY,
                 "+1 212-555-0101", STREET_HOURS, daily_capacity=120, priority=8,
                 customer_zips=("10012", "10003", "10014", "10011")),
    FacilitySpec("NYC-02", "Storefill Brooklyn", "445 Albee Square W", "Brooklyn", "NY", "11201", 40.6910, -73.9838,
                 NY, "+1 718-555-0102", CLOSED_SUNDAY_HOURS, offers_ship_from_store=False, daily_capacity=50,
                 customer_zips=("11201", "11217", "11215", "11238")),
    FacilitySpec("BOS-01", "Storefill Back Bay", "800 Boylston St", "Boston", "MA", "02199", 42.3480, -71.0820, NY,
                 "+1 617-555-0103", MALL_HOURS, daily_capacity=80, priority=6,
                 customer_zips=("02116", "02115", "02118", "02139")),
    FacilitySpec("PHL-01", "Storefill Rittenhouse", "1625 Chestnut St", "Philadelphia", "PA", "19103", 39.9517,
                 -75.1680, NY, "+1 215-555-0104", STREET_HOURS, daily_capacity=70,
                 customer_zips=("19103", "19106", "19147", "19130")),
    FacilitySpec("DCA-01", "Storefill Georgetown", "3222 M St NW", "Washington", "DC", "20007", 38.9050, -77.0630, NY,
                 "+1 202-555-0105", STREET_HOURS, offers_ship_from_store=False, daily_capacity=40,
                 customer_zips=("20007", "20009", "20001", "20016")),
    FacilitySpec("ATL-01", "Storefill Buckhead", "3393 Peachtree Rd NE", "Atlanta", "GA", "30326", 33.8470, -84.3620,
                 NY, "+1 404-555-0106", MALL_HOURS, daily_capacity=90, priority=6,
                 customer_zips=("30305", "30309", "30326", "30342")),
    FacilitySpec("MIA-01", "Storefill Lincoln Road", "1111 Lincoln Rd", "Miami Beach", "FL", "33139", 25.7906,
                 -80.1400, NY, "+1 305-555-0107", MALL_HOURS, offers_pickup=False, daily_capacity=60,
                 customer_zips=("33139", "33140", "33131", "33137")),
    FacilitySpec("CHI-01", "Storefill Magnificent Mile", "835 N Michigan Ave", "Chicago", "IL", "60611", 41.8976,
                 -87.6240, CHI, "+1 312-555-0108", MALL_HOURS, daily_capacity=120, priority=8,
                 customer_zips=("60611", "60610", "60614", "60657")),
    FacilitySpec("CHI-02", "Storefill Wicker Park", "1543 N Milwaukee Ave", "Chicago", "IL", "60622", 41.9096,
                 -87.6772, CHI, "+1 773-555-0109", CLOSED_SUNDAY_HOURS, daily_capacity=45, priority=4,
                 customer_zips=("60622", "60647", "60618", "60642")),
    FacilitySpec("MSP-01", "Storefill Mall of America", "60 E Broadway", "Bloomington", "MN", "55425", 44.8549,
                 -93.2422, CHI, "+1 952-555-0110", MALL_HOURS, daily_capacity=80,
                 customer_zips=("55425", "55403", "55408", "55104")),
    FacilitySpec("DAL-01", "Storefill NorthPark", "8687 N Central Expy", "Dallas", "TX", "75225", 32.8686, -96.7735,
                 CHI, "+1 214-555-0111", MALL_HOURS, daily_capacity=100, priority=7,
                 customer_zips=("75225", "75204", "75206", "75214")),
    FacilitySpec("HOU-01", "Storefill Galleria", "5085 Westheimer Rd", "Houston", "TX", "77056", 29.7390, -95.4627,
                 CHI, "+1 713-555-0112", MALL_HOURS, daily_capacity=100, priority=6,
                 customer_zips=("77056", "77006", "77019", "77098")),
    FacilitySpec("AUS-01", "Storefill The Domain", "11410 Century Oaks Ter", "Austin", "TX", "78758", 30.4020,
                 -97.7250, CHI, "+1 512-555-0113", MALL_HOURS, offers_pickup=False, daily_capacity=60,
                 customer_zips=("78758", "78701", "78704", "78745")),
    FacilitySpec("DEN-01", "Storefill Cherry Creek", "3000 E 1st Ave", "Denver", "CO", "80206", 39.7170, -104.9530,
                 DEN, "+1 303-555-0114", MALL_HOURS, daily_capacity=80, priority=6,
                 customer_zips=("80206", "80203", "80218", "80209")),
    FacilitySpec("PHX-01", "Storefill Scottsdale", "7014 E Camelback Rd", "Scottsdale", "AZ", "85251", 33.5020,
                 -111.9290, PHX, "+1 480-555-0115", MALL_HOURS, daily_capacity=70,
                 customer_zips=("85251", "85018", "85016", "85257")),
    FacilitySpec("SLC-01", "Storefill City Creek", "50 S Main St", "Salt Lake City", "UT", "84101", 40.7684,
                 -111.8910, DEN, "+1 801-555-0116", CLOSED_SUNDAY_HOURS, daily_capacity=50, priority=4,
                 customer_zips=("84101", "84102", "84105", "84111")),
    FacilitySpec("LAX-01", "Storefill The Grove", "189 The Grove Dr", "Los Angeles", "CA", "90036", 34.0720,
                 -118.3570, LA, "+1 323-555-0117", MALL_HOURS, daily_capacity=120, priority=8,
                 customer_zips=("90036", "90048", "90019", "90026")),
    FacilitySpec("SFO-01", "Storefill Union Square", "865 Market St", "San Francisco", "CA", "94103", 37.7841,
                 -122.4075, LA, "+1 415-555-0118", MALL_HOURS, daily_capacity=100, priority=7,
                 customer_zips=("94103", "94110", "94117", "94122")),
    FacilitySpec("SEA-01", "Storefill Pine Street", "400 Pine St", "Seattle", "WA", "98101", 47.6120, -122.3370, LA,
                 "+1 206-555-0119", STREET_HOURS, daily_capacity=80, priority=6,
                 customer_zips=("98101", "98103", "98105", "98122")),
    FacilitySpec("PDX-01", "Storefill Pioneer Place", "700 SW 5th Ave", "Portland", "OR", "97204", 45.5190, -122.6780,
                 LA, "+1 503-555-0120", STREET_HOURS, daily_capacity=60,
                 customer_zips=("97204", "97209", "97214", "97232")),
    FacilitySpec("WH-EAST", "Storefill East DC (Columbus)", "6200 Commerce Center Dr", "Groveport", "OH", "43125",
                 39.8560, -82.8870, NY, "+1 614-555-0190", WAREHOUSE_HOURS, offers_pickup=False,
                 daily_capacity=None, priority=6, kind=Facility.Kind.WAREHOUSE, fulfilled_by_wms=True),
    FacilitySpec("WH-WEST", "Storefill West DC (Reno)", "2150 Mill St", "Reno", "NV", "89502", 39.5180, -119.7810,
                 LA, "+1 775-555-0191", WAREHOUSE_HOURS, offers_pickup=False, daily_capacity=None, priority=5,
                 kind=Facility.Kind.WAREHOUSE),
)
STORES = tuple(spec for spec in FACILITIES if spec.kind == Facility.Kind.STORE)


# --- Catalog -------------------------------------------------------------------------------------

COLORS = {
    "BLK": "Black", "WHT": "White", "NVY": "Navy", "HTR": "Heather Grey", "OLV": "Olive", "RST": "Rust",
    "FOR": "Forest", "MAR": "Maroon", "OAT": "Oatmeal", "RDP": "Red Plaid", "BLP": "Blue Plaid", "BLU": "Blue",
    "PNK": "Pink", "KHK": "Khaki", "IND": "Indigo", "LWS": "Light Wash", "FLR": "Floral", "CML": "Camel",
    "YLW": "Yellow", "CHR": "Charcoal", "GRY": "Grey", "BRN": "Brown", "NAT": "Natural", "SGE": "Sage",
    "TRC": "Terracotta", "CLR": "Clear", "SND": "Sand", "CED": "Cedar", "FIG": "Fig", "LAV": "Lavender",
    "SEA": "Sea Salt", "SLT": "Slate",
}
TOPS = ("S", "M", "L", "XL")
WOMENS = ("XS", "S", "M", "L")
WAIST = ("30", "32", "34", "36")


@dataclass(frozen=True)
class Family:
    """A product as the shop lists it; every color × size is one SKU."""

    code: str
    title: str
    colors: tuple[str, ...]
    sizes: tuple[str, ...]
    weight_grams: int
    price: str
    # Announced but not in stock anywhere yet: the shop sells it as a pre-order.
    coming_soon: bool = False


CATALOG = (
    Family("TEE-CREW", "Classic Crew Tee", ("BLK", "WHT", "NVY", "HTR", "OLV"), TOPS, 180, "24.00"),
    Family("TEE-VNCK", "Everyday V-Neck Tee", ("BLK", "WHT", "NVY"), TOPS, 170, "24.00"),
    Family("TEE-LS", "Long Sleeve Tee", ("BLK", "WHT", "RST"), TOPS, 230, "32.00"),
    Family("TEE-POCK", "Heavyweight Pocket Tee", ("WHT", "OAT", "SLT"), TOPS, 260, "34.00"),
    Family("HENL", "Waffle Henley", ("OAT", "CHR", "RST"), TOPS, 280, "48.00"),
    Family("CAMP", "Linen Camp Shirt", ("WHT", "SGE", "SND"), TOPS, 240, "64.00"),
    Family("TANK", "Ribbed Tank", ("BLK", "WHT", "OAT"), WOMENS, 120, "22.00"),
    Family("POLO", "Piqué Polo", ("NVY", "WHT", "FOR"), TOPS, 250, "45.00"),
    Family("HOOD", "Fleece Pullover Hoodie", ("BLK", "HTR", "NVY", "MAR"), TOPS, 620, "68.00"),
    Family("SWSH", "Crewneck Sweatshirt", ("HTR", "OAT", "FOR"), TOPS, 540, "58.00"),
    Family("FLAN", "Brushed Flannel Shirt", ("RDP", "BLP"), TOPS, 380, "62.00"),
    Family("OXFD", "Oxford Button-Down", ("WHT", "BLU", "PNK"), TOPS, 300, "59.00"),
    Family("CHNO", "Slim Chino", ("KHK", "NVY", "OLV", "BLK"), WAIST, 520, "69.00"),
    Family("JEAN", "Straight Jean", ("IND", "BLK", "LWS"), ("28", *WAIST), 650, "79.00"),
    Family("SHRT", "Chino Short", ("KHK", "NVY"), WAIST, 300, "44.00"),
    Family("JOGR", "Fleece Jogger", ("BLK", "HTR"), TOPS, 480, "54.00"),
    Family("LEGG", "High-Rise Legging", ("BLK", "NVY"), ("XS", *TOPS), 220, "58.00"),
    Family("DRSS", "Wrap Dress", ("BLK", "FLR"), WOMENS, 340, "88.00"),
    Family("SKRT", "Pleated Midi Skirt", ("BLK", "CML"), WOMENS, 310, "72.00"),
    Family("SWPN", "Wide-Leg Sweatpant", ("HTR", "OAT"), WOMENS, 450, "58.00"),
    Family("JKT-DNM", "Denim Trucker Jacket", ("IND",), TOPS, 900, "98.00"),
    Family("JKT-PUF", "Recycled Puffer Jacket", ("BLK", "OLV", "NVY"), TOPS, 750, "148.00"),
    Family("JKT-RAIN", "Packable Rain Shell", ("YLW", "NVY"), TOPS, 420, "118.00"),
    Family("JKT-SHRP", "Sherpa Fleece Jacket", ("OAT", "BRN"), TOPS, 820, "128.00", coming_soon=True),
    Family("VEST", "Quilted Vest", ("BLK", "OLV"), TOPS, 400, "78.00"),
    Family("SWTR", "Merino Crew Sweater", ("CHR", "OAT", "NVY"), TOPS, 380, "98.00"),
    Family("CARD", "Cotton Cardigan", ("OAT", "BLK"), WOMENS, 450, "84.00"),
    Family("SOCK", "Everyday Sock 3-Pack", ("BLK", "WHT"), ("S", "M", "L"), 150, "16.00"),
    Family("SOCK-WOOL", "Wool Hiking Sock", ("GRY", "FOR"), ("S", "M", "L"), 90, "22.00"),
    Family("BOXR", "Boxer Brief 3-Pack", ("BLK", "NVY"), TOPS, 210, "36.00"),
    Family("BEAN", "Rib Knit Beanie", ("BLK", "RST", "NVY", "OAT"), (), 90, "28.00"),
    Family("CAP", "Twill Baseball Cap", ("BLK", "KHK", "NVY"), (), 110, "30.00"),
    Family("SCRF", "Lambswool Scarf", ("CHR", "CML"), (), 160, "48.00"),
    Family("GLOV", "Knit Touchscreen Gloves", ("BLK", "GRY"), ("SM", "LXL"), 80, "26.00"),
    Family("BELT", "Leather Belt", ("BRN", "BLK"), ("30", "32", "34", "36", "38"), 240, "52.00"),
    Family("TOTE", "Canvas Tote Bag", ("NAT", "BLK"), (), 320, "34.00"),
    Family("BPCK", "Commuter Backpack 20L", ("BLK", "GRY"), (), 980, "110.00"),
    Family("SNKR", "Canvas Sneaker", ("WHT", "BLK"), ("7", "8", "9", "10", "11", "12"), 820, "65.00"),
    Family("BOOT", "Leather Chelsea Boot", ("BRN", "BLK"), ("7", "8", "9", "10", "11", "12"), 1400, "168.00"),
    Family("SNDL", "Cork Footbed Sandal", ("BRN", "BLK"), ("7", "8", "9", "10", "11"), 600, "58.00"),
    Family("SLIP", "Shearling Slipper", ("CML", "GRY"), ("7", "8", "9", "10", "11"), 560, "78.00",
           coming_soon=True),
    Family("MUG-12OZ", "Stoneware Mug 12 oz", ("WHT", "SGE", "TRC", "BLU"), (), 420, "18.00"),
    Family("BOWL-SET", "Stoneware Bowl Set of 4", ("WHT", "SGE"), (), 2100, "48.00"),
    Family("PLATE-SET", "Dinner Plate Set of 4", ("WHT", "SGE"), (), 3200, "56.00"),
    Family("GLAS-SET", "Tumbler Glass Set of 6", ("CLR",), (), 1500, "36.00"),
    Family("TWL-BATH", "Organic Bath Towel", ("WHT", "GRY", "NVY", "SGE"), (), 650, "32.00"),
    Family("TWL-HAND", "Organic Hand Towel", ("WHT", "GRY", "NVY", "SGE"), (), 220, "16.00"),
    Family("TWL-BCH", "Striped Beach Towel", ("BLU", "TRC", "SND"), (), 800, "42.00"),
    Family("SHEET", "Percale Sheet Set", ("WHT", "GRY", "SGE"), ("TWIN", "FULL", "QUEEN", "KING"), 1800, "129.00"),
    Family("SHEET-FLN", "Flannel Sheet Set", ("GRY", "RDP"), ("TWIN", "FULL", "QUEEN", "KING"), 2100, "139.00"),
    Family("DUVET", "Linen Duvet Cover", ("WHT", "OAT", "SGE"), ("FQ", "KING"), 1400, "189.00"),
    Family("PILLOW", "Down Alternative Pillow", (), ("STD", "KING"), 900, "49.00"),
    Family("THROW", "Chunky Knit Throw", ("OAT", "CHR"), (), 1900, "98.00"),
    Family("CUSH", "Linen Cushion Cover 18 in", ("OAT", "SGE", "TRC"), (), 200, "34.00"),
    Family("CNDL", "Soy Candle 8 oz", ("CED", "FIG", "LAV", "SEA"), (), 380, "26.00"),
    Family("DIFF", "Reed Diffuser", ("CED", "LAV"), (), 450, "38.00"),
    Family("BSKT", "Woven Storage Basket", (), ("S", "M", "L"), 700, "42.00"),
    Family("RUG", "Flatweave Cotton Rug", ("NAT", "SLT"), ("2X3", "5X7", "8X10"), 4200, "149.00"),
    Family("LAMP", "Ceramic Table Lamp", ("WHT", "SGE"), (), 2600, "119.00"),
    Family("FRAME", "Oak Picture Frame", (), ("4X6", "5X7", "8X10"), 450, "24.00"),
    Family("SKLT", "Cast Iron Skillet", (), ("8IN", "10IN", "12IN"), 2700, "45.00"),
    Family("KNIFE", "Chef's Knife 8 in", (), (), 230, "89.00"),
    Family("CUTB", "Acacia Cutting Board", (), ("S", "L"), 1300, "39.00"),
    Family("APRN", "Canvas Apron", ("NAT", "BLK"), (), 300, "32.00"),
    Family("NAPK", "Linen Napkin Set of 4", ("OAT", "SGE", "WHT"), (), 280, "36.00"),
    Family("BOTL", "Insulated Bottle 750 ml", ("BLK", "FOR", "SND"), (), 400, "35.00"),
    Family("TUMB", "Insulated Travel Tumbler", ("BLK", "SGE", "SND"), (), 350, "30.00"),
    Family("PLNT", "Terracotta Planter", ("TRC", "WHT"), ("S", "M", "L"), 1100, "28.00"),
    Family("BLNK", "Waffle Cotton Blanket", ("WHT", "OAT", "SGE"), ("TWIN", "QUEEN", "KING"), 2300, "139.00"),
    Family("ROBE", "Waffle Bath Robe", ("WHT", "GRY"), ("SM", "LXL"), 1100, "89.00"),
    Family("MAT-BATH", "Cotton Bath Mat", ("WHT", "GRY", "SGE"), (), 900, "38.00"),
    Family("JOUR", "Linen Notebook A5", ("NAT", "BLK", "SGE"), (), 350, "22.00"),
    Family("UMBR", "Compact Umbrella", ("BLK", "NVY"), (), 380, "34.00"),
)


@dataclass(frozen=True)
class CatalogItem:
    sku: str
    barcode: str
    name: str
    title: str
    variant: str
    weight_grams: int
    price: Decimal
    coming_soon: bool


def ean13(twelve_digits: str) -> str:
    """Append the EAN-13 check digit (weights 1, 3, 1, 3, … from the left) to 12 digits."""
    if len(twelve_digits) != 12 or not twelve_digits.isdigit():
        raise ValueError(f"need 12 digits, got {twelve_digits!r}")
    total = sum(int(digit) * (3 if index % 2 else 1) for index, digit in enumerate(twelve_digits))
    return twelve_digits + str((10 - total % 10) % 10)


# 0614141 is the company prefix GS1 uses in its own examples: it never collides with a real product.
BARCODE_PREFIX = "0614141"


def catalog_items() -> list[CatalogItem]:
    """Every SKU of the demo catalog in a fixed order (the order fixes each SKU's barcode)."""
    items = []
    for family in CATALOG:
        for color in family.colors or (None,):
            for size_index, size in enumerate(family.sizes or (None,)):
                sku = "-".join(part for part in (family.code, color, size) if part)
                variant = " / ".join(part for part in (COLORS.get(color or ""), size) if part)
                items.append(CatalogItem(
                    sku=sku,
                    barcode=ean13(f"{BARCODE_PREFIX}{len(items) + 1:05d}"),
                    name=f"{family.title} - {variant}" if variant else family.title,
                    title=family.title,
                    variant=variant,
                    # Larger sizes weigh a little more.
                    weight_grams=round(family.weight_grams * (1 + 0.06 * size_index)),
                    price=Decimal(family.price),
                    coming_soon=family.coming_soon,
                ))
    return items


# --- Stock plan ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class StockPlanRow:
    facility_code: str
    sku: str
    on_hand: int
    bin_location: str


def stock_plan(*, rng: random.Random, items: list[CatalogItem]) -> tuple[list[StockPlanRow], set[str]]:
    """Opening stock per facility, and the SKUs sold out everywhere (the shop takes backorders for them).

    Warehouses carry almost everything in depth; each store carries its own share in shallow stock.
    """
    sellable = [item for item in items if not item.coming_soon]
    sold_out = {item.sku for item in rng.sample(sellable, 12)}
    rows = []
    for spec in FACILITIES:
        warehouse = spec.kind == Facility.Kind.WAREHOUSE
        share = rng.uniform(0.85, 0.95) if warehouse else rng.uniform(0.2, 0.4)
        aisles = "ABCDEFGH" if warehouse else "ABCD"
        for item in sellable:
            if item.sku in sold_out or rng.random() >= share:
                continue
            on_hand = rng.randint(20, 240) if warehouse else rng.choice((1, 2, 2, 3, 4, 5, 6, 8, 10, 12, 15, 18))
            bin_location = f"{rng.choice(aisles)}-{rng.randint(1, 40 if warehouse else 12):02d}-{rng.randint(1, 5)}"
            rows.append(StockPlanRow(spec.code, item.sku, on_hand, bin_location))
    return rows, sold_out
