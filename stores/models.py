"""Facilities (stores and warehouses), who works where, stock levels and the stock ledger."""

import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def validate_time_zone(value: str) -> None:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError(f"{value!r} is not a known time zone (use e.g. 'Europe/Berlin').") from exc


def validate_opening_hours(value) -> None:
    """Opening hours: {"mon": ["09:00", "20:00"], ..., "sun": null}; a missing day is closed."""
    if not isinstance(value, dict):
        raise ValidationError("Opening hours must map weekdays (mon…sun) to [opens, closes].")
    for day, hours in value.items():
        if day not in WEEKDAYS:
            raise ValidationError(f"Unknown weekday {day!r}: use one of {', '.join(WEEKDAYS)}.")
        if hours is None:
            continue
        if not (isinstance(hours, list | tuple) and len(hours) == 2):
            raise ValidationError(f"{day}: give [opens, closes] like ['09:00', '18:00'] or null.")
        try:
            opens, closes = (tuple(int(p) for p in h.split(":")) for h in hours)
        except (AttributeError, ValueError) as exc:
            raise ValidationError(f"{day}: times must look like 09:00.") from exc
        if not opens < closes:
            raise ValidationError(f"{day}: the store must open before it closes.")


class Facility(models.Model):
    class Kind(models.TextChoices):
        STORE = "STORE", "Store"
        WAREHOUSE = "WAREHOUSE", "Warehouse"

    code = models.SlugField(max_length=32, unique=True, help_text="Short code the shop uses, e.g. BER-01.")
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.STORE)
    address1 = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=2, help_text="ISO 3166-1 alpha-2, e.g. DE.")
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    opening_hours = models.JSONField(default=dict, blank=True, validators=[validate_opening_hours])
    phone = models.CharField(max_length=40, blank=True)
    email = models.EmailField(blank=True)

    is_active = models.BooleanField(default=True)
    sells_online = models.BooleanField(default=True)
    offers_ship_from_store = models.BooleanField(default=True)
    offers_pickup = models.BooleanField(default=False)
    daily_capacity = models.PositiveIntegerField(
        null=True, blank=True, help_text="Pick jobs per day; empty means unlimited."
    )
    priority = models.PositiveSmallIntegerField(default=5, help_text="1 (lowest) to 10 (highest).")
    shop_location_id = models.CharField(
        max_length=40, blank=True, help_text="The shop's id of this location (Shopify: the number of its Location)."
    )
    fulfilled_by_wms = models.BooleanField(
        default=False, help_text="Requests go out in the WMS allocation feed instead of as pick jobs."
    )

    # Operational settings (defaults are what most stores want).
    allow_partial_rejection = models.BooleanField(
        default=True, help_text="Rejecting one item sends only that item back (otherwise the whole order)."
    )
    pickup_service_hours = models.PositiveSmallIntegerField(
        default=2, help_text="Opening hours until a pickup order must be ready."
    )
    pickup_reminder_hours = models.PositiveSmallIntegerField(
        default=48, help_text="Hours after the items are ready until the customer is reminded."
    )
    pickup_expiry_days = models.PositiveSmallIntegerField(
        default=7, help_text="Days after the items are ready until an uncollected pickup is canceled (at closing)."
    )
    pickup_proof_required = models.BooleanField(
        default=False, help_text="Ask who collects (name, self or other, last 4 characters of an ID) at the counter."
    )
    pickup_alternatives_km = models.PositiveIntegerField(
        "pickup alternatives within (km)", default=50,
        help_text="When this store cannot serve a pickup, the customer is offered other stores within this distance "
                  "(from their address, else from this store), and delivery.",
    )
    class LabelFormat(models.TextChoices):
        PDF = "PDF", "PDF (A6 / 4×6 in, any printer)"
        ZPL = "ZPL", "ZPL (203 dpi thermal printer, 4×6 in)"

    label_format = models.CharField(max_length=3, choices=LabelFormat.choices, default=LabelFormat.PDF,
                                    help_text="How the packing station's labels are printed.")
    label_printer = models.CharField(
        max_length=120, blank=True,
        help_text="A network label printer taking raw ZPL (host or host:port, port 9100 by default); empty: none.")
    label_service = models.CharField(
        max_length=60, blank=True,
        help_text="The rate a new shipment buys: a carrier's service code, or for EasyPost CHEAPEST, "
                  "CHEAPEST_WITHIN:<days> or <carrier>:<service>; empty: the carrier's default.")
    reroute_after_hours = models.PositiveSmallIntegerField(
        default=24, help_text="Opening hours after which an unstarted ship pick job is withdrawn."
    )
    reroute_warning_minutes = models.PositiveSmallIntegerField(default=30)

    class Processing(models.TextChoices):
        AUTOMATIC = "AUTOMATIC", "Automatic: routed requests are sent at once"
        MANUAL = "MANUAL", "Manual review: operations process each request"

    processing_mode = models.CharField(max_length=10, choices=Processing.choices, default=Processing.AUTOMATIC)

    class Meta:
        verbose_name_plural = "facilities"
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=Q(priority__gte=1) & Q(priority__lte=10), name="facility_priority_1_10"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)


class StoreMembership(models.Model):
    class Role(models.TextChoices):
        ASSOCIATE = "ASSOCIATE", "Associate"
        MANAGER = "MANAGER", "Manager"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    facility = models.ForeignKey(Facility, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.ASSOCIATE)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "facility"], name="one_membership_per_store")]

    def __str__(self) -> str:
        return f"{self.user} · {self.facility.code} · {self.get_role_display()}"


class StockLevel(models.Model):
    """What one facility holds of one product. Changed only through stores.stock."""

    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="stock_levels")
    product = models.ForeignKey("oms.Product", on_delete=models.PROTECT, related_name="stock_levels")
    on_hand = models.IntegerField(default=0)
    reserved = models.IntegerField(default=0)
    safety_stock = models.IntegerField(default=0)
    bin_location = models.CharField(max_length=32, blank=True)
    last_counted_at = models.DateTimeField(null=True, blank=True, help_text="Time of the newest count applied.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["facility", "product"], name="one_stock_level_per_product"),
            models.CheckConstraint(condition=Q(on_hand__gte=0), name="stock_on_hand_not_negative"),
            models.CheckConstraint(condition=Q(reserved__gte=0), name="stock_reserved_not_negative"),
            models.CheckConstraint(condition=Q(safety_stock__gte=0), name="stock_safety_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.facility.code}/{self.product_id}: {self.on_hand} on hand, {self.reserved} reserved"

    @property
    def available(self) -> int:
        return max(0, self.on_hand - self.reserved - self.safety_stock)

    @property
    def shortfall(self) -> int:
        """Units promised but not on hand (after a count came in below what is reserved)."""
        return max(0, self.reserved - self.on_hand)


class InventoryAdjustment(models.Model):
    """One entry of the stock ledger: every change of on_hand or reserved writes exactly one."""

    class Reason(models.TextChoices):
        RECEIPT = "RECEIPT", "Goods received"
        COUNT = "COUNT", "Inventory count"
        RESERVE = "RESERVE", "Reserved for an order line"
        RELEASE = "RELEASE", "Reservation released"
        HANDOVER = "HANDOVER", "Handed over (left the building)"
        DISCREPANCY = "DISCREPANCY", "Discrepancy"
        SHORT_PICK = "SHORT_PICK", "Short pick"
        REJECTION = "REJECTION", "Rejection"
        MANUAL = "MANUAL", "Manual correction"

    stock_level = models.ForeignKey(StockLevel, on_delete=models.PROTECT, related_name="adjustments")
    on_hand_delta = models.IntegerField(default=0)
    reserved_delta = models.IntegerField(default=0)
    reason = models.CharField(max_length=16, choices=Reason.choices)
    note = models.CharField(max_length=200, blank=True, help_text="e.g. the rejection reason code.")
    # No database constraint on actor and order_line (the ORM still sets them null): the ledger is append-only,
    # a brokering run writes tens of thousands of entries, and the deferred checks at commit cost more than the
    # writes. stock_level keeps its constraint: the ledger must never lose the row it accounts for.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        db_constraint=False,
    )
    source = models.CharField(max_length=120, blank=True, help_text="What caused it: a line, a feed file, a command.")
    order_line = models.ForeignKey(
        "oms.OrderLine", null=True, blank=True, on_delete=models.SET_NULL, related_name="stock_adjustments",
        db_constraint=False,
    )
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["stock_level", "created_at"])]

    def __str__(self) -> str:
        return f"{self.get_reason_display()}: on hand {self.on_hand_delta:+d}, reserved {self.reserved_delta:+d}"
