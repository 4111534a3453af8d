"""Products, orders and their lines, fulfillment requests, the outbox and the transition log."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django_fsm import FSMField, FSMModelMixin, transition


class Product(models.Model):
    sku = models.CharField(max_length=64, unique=True)
    barcode = models.CharField(max_length=32, unique=True, help_text="EAN-13 / UPC printed on the item.")
    name = models.CharField(max_length=200)
    weight_grams = models.PositiveIntegerField(default=0)
    image_url = models.URLField(blank=True)

    class Meta:
        ordering = ["sku"]

    def __str__(self) -> str:
        return f"{self.sku} {self.name}"


class Order(FSMModelMixin, models.Model):
    class Status(models.TextChoices):
        CREATED = "CREATED"
        APPROVED = "APPROVED"
        COMPLETED = "COMPLETED"
        CANCELED = "CANCELED"

    class DeliveryMethod(models.TextChoices):
        SHIP = "SHIP"
        PICKUP = "PICKUP"
        MIXED = "MIXED"

    external_id = models.CharField(max_length=64, help_text="The shop's order id.")
    name = models.CharField(max_length=64, help_text="The shop's order name, e.g. #1001.")
    channel = models.CharField(max_length=32, default="shopify")
    status = FSMField(default=Status.CREATED, choices=Status.choices, protected=True, db_index=True)

    customer_name = models.CharField(max_length=200, blank=True)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    shipping_address = models.JSONField(default=dict, blank=True)
    billing_address = models.JSONField(default=dict, blank=True)
    payment_status = models.CharField(max_length=32, blank=True, help_text="Shopify's financial_status.")
    tags = models.JSONField(default=list, blank=True)
    priority = models.SmallIntegerField(default=0, help_text="Higher is more urgent; rules filter and sort on it.")
    currency = models.CharField(max_length=3, blank=True)
    total_price = models.DecimalField(max_digits=12, decimal_places=2, default=0)

    # Problems found at import (unknown SKU, unknown pickup store): [{"code": …, "message": …}].
    problems = models.JSONField(default=list, blank=True)
    # Why the last approval check did not pass: [{"code": …, "message": …}].
    approval_blockers = models.JSONField(default=list, blank=True)
    # Quantity reductions from orders/updated that the cancellation flow has not applied yet.
    pending_changes = models.JSONField(default=list, blank=True)

    ordered_at = models.DateTimeField(help_text="When the customer placed the order (shop time).")
    received_at = models.DateTimeField(help_text="When Storefill first stored it.")
    shop_updated_at = models.DateTimeField(null=True, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    raw = models.JSONField(default=dict, blank=True, help_text="The last order JSON the shop sent.")

    class Meta:
        ordering = ["-ordered_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["channel", "external_id"], name="one_order_per_shop_id"),
        ]

    def __str__(self) -> str:
        return self.name

    @transition(field=status, source=Status.CREATED, target=Status.APPROVED)
    def approve(self):
        pass

    @transition(field=status, source=Status.APPROVED, target=Status.COMPLETED)
    def complete(self):
        pass

    @transition(field=status, source=[Status.CREATED, Status.APPROVED], target=Status.CANCELED)
    def cancel(self):
        pass

    @staticmethod
    def delivery_method_of(lines) -> str:
        """SHIP, PICKUP or MIXED, from the lines that are not canceled (all lines if none are left)."""
        live = [line for line in lines if line.status != OrderLine.Status.CANCELED] or list(lines)
        pickup = {bool(line.pickup_store_code) for line in live}
        if pickup == {True}:
            return Order.DeliveryMethod.PICKUP
        if pickup == {False} or not pickup:
            return Order.DeliveryMethod.SHIP
        return Order.DeliveryMethod.MIXED

    @property
    def delivery_method(self) -> str:
        return self.delivery_method_of(self.lines.all())


class OrderLine(FSMModelMixin, models.Model):
    class Status(models.TextChoices):
        CREATED = "CREATED"
        QUEUED = "QUEUED"
        ALLOCATED = "ALLOCATED"
        FULFILLED = "FULFILLED"
        CANCELED = "CANCELED"

    class Kind(models.TextChoices):
        STANDARD = "STANDARD"
        PRE_ORDER = "PRE_ORDER"
        BACKORDER = "BACKORDER"

    class Queue(models.TextChoices):
        BROKERING = "BROKERING"
        REJECTED = "REJECTED"
        UNFILLABLE = "UNFILLABLE"
        UNFILLABLE_HOLD = "UNFILLABLE_HOLD"
        PRE_ORDER = "PRE_ORDER"
        BACKORDER = "BACKORDER"
        BOPIS_REJECTED = "BOPIS_REJECTED"

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    external_line_id = models.CharField(max_length=64, help_text="The shop's line-item id (kept by splits).")
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="splits",
        help_text="The line this one was split from.",
    )
    product = models.ForeignKey(Product, null=True, blank=True, on_delete=models.PROTECT, related_name="order_lines")
    sku = models.CharField(max_length=64, help_text="SKU as the shop sent it (kept when unknown).")
    title = models.CharField(max_length=200, blank=True)
    quantity = models.PositiveIntegerField()
    unit_price = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    status = FSMField(default=Status.CREATED, choices=Status.choices, protected=True, db_index=True)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.STANDARD)
    promise_date = models.DateField(null=True, blank=True)

    pickup_store_code = models.CharField(max_length=32, blank=True, help_text="Pickup store as the shop sent it.")
    pickup_facility = models.ForeignKey(
        "stores.Facility", null=True, blank=True, on_delete=models.PROTECT, related_name="pickup_lines"
    )
    queue = models.CharField(max_length=16, choices=Queue.choices, blank=True, db_index=True)
    queued_at = models.DateTimeField(null=True, blank=True)
    auto_cancel_at = models.DateTimeField(null=True, blank=True)
    allocated_facility = models.ForeignKey(
        "stores.Facility", null=True, blank=True, on_delete=models.PROTECT, related_name="allocated_lines"
    )
    fulfillment_request = models.ForeignKey(
        "oms.FulfillmentRequest", null=True, blank=True, on_delete=models.SET_NULL, related_name="lines"
    )
    excluded_facilities = models.ManyToManyField("stores.Facility", blank=True, related_name="excluded_lines")
    cancel_reason = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["order_id", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="line_quantity_positive"),
            models.CheckConstraint(
                condition=~Q(status="QUEUED") | ~Q(queue=""), name="queued_line_has_queue"
            ),
            models.CheckConstraint(
                condition=~Q(status="ALLOCATED") | Q(allocated_facility__isnull=False),
                name="allocated_line_has_facility",
            ),
        ]
        indexes = [models.Index(fields=["status", "queue"])]

    def __str__(self) -> str:
        return f"{self.sku} × {self.quantity}"

    @property
    def is_pickup(self) -> bool:
        return bool(self.pickup_store_code)

    @transition(field=status, source=[Status.CREATED], target=Status.QUEUED)
    def enqueue(self):
        pass

    @transition(field=status, source=Status.QUEUED, target=Status.ALLOCATED)
    def allocate(self):
        pass

    @transition(field=status, source=Status.ALLOCATED, target=Status.QUEUED)
    def requeue(self):
        """Rejected or short-picked: back to a queue with the facility excluded."""

    @transition(field=status, source=Status.ALLOCATED, target=Status.FULFILLED)
    def fulfil(self):
        pass

    @transition(field=status, source=[Status.CREATED, Status.QUEUED, Status.ALLOCATED], target=Status.CANCELED)
    def cancel(self):
        pass


class FulfillmentRequest(FSMModelMixin, models.Model):
    """What the OMS hands to one location for one order, numbered <order name>-<n>."""

    class Status(models.TextChoices):
        UNPROCESSED = "UNPROCESSED"
        PROCESSING = "PROCESSING"
        PROCESSED = "PROCESSED"
        ACKNOWLEDGED = "ACKNOWLEDGED"
        COMPLETED = "COMPLETED"
        FAILED = "FAILED"
        CANCELED = "CANCELED"

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="fulfillment_requests")
    facility = models.ForeignKey("stores.Facility", on_delete=models.PROTECT, related_name="fulfillment_requests")
    number = models.CharField(max_length=80, unique=True)
    status = FSMField(default=Status.UNPROCESSED, choices=Status.choices, protected=True, db_index=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.number

    @transition(field=status, source=Status.UNPROCESSED, target=Status.PROCESSING)
    def process(self):
        pass

    @transition(field=status, source=Status.PROCESSING, target=Status.PROCESSED)
    def mark_sent(self):
        pass

    @transition(field=status, source=Status.PROCESSED, target=Status.ACKNOWLEDGED)
    def acknowledge(self):
        pass

    @transition(field=status, source=[Status.PROCESSED, Status.ACKNOWLEDGED], target=Status.COMPLETED)
    def complete(self):
        pass

    @transition(field=status, source=Status.PROCESSING, target=Status.FAILED)
    def fail(self):
        pass

    @transition(field=status, source=Status.FAILED, target=Status.PROCESSING)
    def retry(self):
        pass

    @transition(
        field=status,
        source=[Status.UNPROCESSED, Status.PROCESSING, Status.PROCESSED, Status.ACKNOWLEDGED, Status.FAILED],
        target=Status.CANCELED,
    )
    def cancel(self):
        pass


class OutboxMessage(models.Model):
    """A message that leaves the system, written in the transaction of the change that causes it."""

    class Destination(models.TextChoices):
        SHOP = "SHOP", "Shop"
        EMAIL = "EMAIL", "Customer email"
        ERP = "ERP", "ERP feed"

    class Status(models.TextChoices):
        PENDING = "PENDING", "Pending"
        DELIVERED = "DELIVERED", "Delivered"
        FAILED = "FAILED", "Failed"
        DEAD = "DEAD", "Dead"

    kind = models.CharField(max_length=48, help_text="e.g. order-canceled, fulfillment, pickup-ready.")
    destination = models.CharField(max_length=8, choices=Destination.choices)
    order = models.ForeignKey(Order, null=True, blank=True, on_delete=models.SET_NULL, related_name="outbox_messages")
    idempotency_key = models.CharField(max_length=200, unique=True)
    payload = models.JSONField(default=dict)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
    due_at = models.DateTimeField(db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)
    # An ERP message is delivered by being written into a feed file (oms.feeds.exports): the file it went into.
    export = models.ForeignKey("oms.FeedExport", null=True, blank=True, on_delete=models.PROTECT,
                               related_name="messages")

    class Meta:
        ordering = ["pk"]
        indexes = [models.Index(fields=["status", "due_at"])]

    def __str__(self) -> str:
        return f"{self.kind} → {self.destination} ({self.status})"


class TransitionLog(models.Model):
    """One state change of any stateful object, with who, when and why.

    `order` is copied onto every row so an order's whole history (its own, its lines', its requests'
    and its jobs' transitions) is one indexed query.
    """

    # The model's name ("order", "orderline", "pickjob", …): plain text, not a ContentType foreign key, so
    # bulk writes need no lookups and rows stay valid however content types are renumbered.
    object_type = models.CharField(max_length=40)
    object_id = models.PositiveBigIntegerField()
    # No database constraint on the log's foreign keys (the ORM still cascades / sets null): a brokering run
    # appends tens of thousands of rows, and the deferred checks at commit cost more than writing them.
    order = models.ForeignKey(Order, null=True, blank=True, on_delete=models.CASCADE, related_name="history",
                              db_constraint=False)
    transition = models.CharField(max_length=48)
    source_state = models.CharField(max_length=24)
    target_state = models.CharField(max_length=24)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        db_constraint=False,
    )
    reason = models.TextField(blank=True)
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "pk"]
        indexes = [
            models.Index(fields=["order", "at"]),
            models.Index(fields=["object_type", "object_id"]),
        ]

    def __str__(self) -> str:
        return f"{self.transition}: {self.source_state} → {self.target_state}"


class OrderNote(models.Model):
    """A timeline entry that is not a state change: an update from the shop, a failed approval check."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="notes")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    text = models.TextField()
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return self.text[:60]


class ShopWebhook(models.Model):
    """Every webhook delivery we accepted, so a retried delivery (same X-Shopify-Webhook-Id) is a no-op.

    A cancellation for an order we have not seen yet stays unapplied here until the order arrives.
    """

    webhook_id = models.CharField(max_length=100, unique=True)
    topic = models.CharField(max_length=40)
    external_order_id = models.CharField(max_length=64, db_index=True)
    payload = models.JSONField(default=dict)
    received_at = models.DateTimeField()
    applied_at = models.DateTimeField(null=True, blank=True)
    result = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.topic} {self.external_order_id}"


class RoutingRule(models.Model):
    """How a brokering run treats the lines it matches: fences, rating weights, splitting, what if unfilled.

    Rules are tried in `position` order; a line is handled by the first active rule that matches it.
    """

    class Delivery(models.TextChoices):
        ANY = "ANY", "Ship and pickup"
        SHIP = "SHIP", "Ship only"
        PICKUP = "PICKUP", "Pickup only"

    class SortBy(models.TextChoices):
        ORDER_DATE = "ORDER_DATE", "Order date (oldest first)"
        PROMISE_DATE = "PROMISE_DATE", "Promise date (earliest first)"
        PRIORITY = "PRIORITY", "Priority (highest first)"

    class Prefer(models.TextChoices):
        NONE = "NONE", "No preference"
        STORE = "STORE", "Prefer stores"
        WAREHOUSE = "WAREHOUSE", "Prefer warehouses"

    class Unfilled(models.TextChoices):
        NEXT_RULE = "NEXT_RULE", "Try the next rule"
        PARK = "PARK", "Move to UNFILLABLE"

    FENCES = ("ACTIVE_ONLINE", "SERVICE", "COUNTRY", "EXCLUDED", "CAPACITY", "PICKUP_STORE", "STOCK")

    name = models.CharField(max_length=100, unique=True)
    position = models.PositiveIntegerField(unique=True, help_text="Rules are tried from the lowest position up.")
    is_active = models.BooleanField(default=True)
    # Which lines the rule handles (an empty list means any).
    queues = models.JSONField(default=list, blank=True, help_text='e.g. ["BROKERING", "REJECTED"]')
    delivery = models.CharField(max_length=8, choices=Delivery.choices, default=Delivery.ANY)
    kinds = models.JSONField(default=list, blank=True, help_text='e.g. ["STANDARD"]')
    channels = models.JSONField(default=list, blank=True)
    min_priority = models.SmallIntegerField(null=True, blank=True)
    sort_by = models.CharField(max_length=12, choices=SortBy.choices, default=SortBy.ORDER_DATE)
    # How facilities are chosen.
    fences = models.JSONField(default=list, blank=True, help_text="Fences that apply; empty means all of them.")
    weight_stock = models.FloatField(default=1.0)
    weight_distance = models.FloatField(default=0.6)
    weight_workload = models.FloatField(default=0.3)
    weight_priority = models.FloatField(default=0.2)
    weight_kind = models.FloatField(default=0.1)
    prefer = models.CharField(max_length=10, choices=Prefer.choices, default=Prefer.NONE)
    max_facilities = models.PositiveSmallIntegerField(
        default=1, help_text="1 keeps every order whole; N allows a split across up to N facilities."
    )
    unfilled_action = models.CharField(max_length=10, choices=Unfilled.choices, default=Unfilled.PARK)
    auto_cancel_days = models.PositiveSmallIntegerField(default=7)

    class Meta:
        ordering = ["position"]
        constraints = [
            models.CheckConstraint(condition=Q(max_facilities__gte=1), name="rule_max_facilities_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.position}. {self.name}"


class BrokeringRun(models.Model):
    """One run of the routing engine over one queue, with what it achieved."""

    class Status(models.TextChoices):
        RUNNING = "RUNNING"
        SUCCEEDED = "SUCCEEDED"
        FAILED = "FAILED"

    queue = models.CharField(max_length=16, choices=OrderLine.Queue.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    trigger = models.CharField(max_length=16, default="schedule", help_text="schedule, command, console, test")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    started_at = models.DateTimeField()
    heartbeat_at = models.DateTimeField(help_text="Last sign of life: a run silent for long is taken as dead.")
    finished_at = models.DateTimeField(null=True, blank=True)
    orders_considered = models.PositiveIntegerField(default=0)
    lines_considered = models.PositiveIntegerField(default=0)
    lines_allocated = models.PositiveIntegerField(default=0)
    lines_parked = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-started_at", "-pk"]
        constraints = [
            # Two runs of one queue never overlap: the second cannot even start.
            models.UniqueConstraint(fields=["queue"], condition=Q(status="RUNNING"), name="one_running_run_per_queue"),
        ]

    def __str__(self) -> str:
        return f"{self.queue} run {self.pk} ({self.status})"

    @property
    def fill_rate(self) -> float | None:
        return self.lines_allocated / self.lines_considered if self.lines_considered else None


class RoutingDecision(models.Model):
    """What routing decided for one order, with the candidates and fences, renderable in words.

    `details`: {"outcome": "ALLOCATED" | "PARTIAL" | "PARKED",
                "allocations": [{"facility_id", "facility": code, "line_id", "quantity"}],
                "parked": [{"line_id", "quantity", "queue"}],
                "candidates": [{"facility_id", "facility": code, "name", "score",
                                "ratings": {"stock", "distance", "workload", "priority", "kind"},
                                "distance_km": float | None}],   # top five, best first
                "fences": {"ACTIVE_ONLINE": n, "SERVICE": n, ...},   # facilities each fence removed
                "notes": ["No coordinates for the address: distance rated neutral", ...]}
    """

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="routing_decisions")
    run = models.ForeignKey(BrokeringRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="decisions")
    rule = models.ForeignKey(RoutingRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    outcome = models.CharField(max_length=10)
    details = models.JSONField(default=dict)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["order", "created_at"])]

    def __str__(self) -> str:
        return f"{self.order_id}: {self.outcome}"


class PickupAlternativeOffer(models.Model):
    """What a customer may choose when their pickup store cannot serve some items (lines in BOPIS_REJECTED).

    The customer gets a link with a signed token naming this offer; the page shows the choices again
    and applies one: another nearby store that has the items now, delivery to their address, or
    cancelling the items. An offer is used once and expires; operations staff can apply it for the customer.
    """

    class Choice(models.TextChoices):
        STORE = "STORE", "Pick up at another store"
        SHIP = "SHIP", "Deliver to my address"
        CANCEL = "CANCEL", "Cancel the items"

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="pickup_offers")
    line_ids = models.JSONField(default=list, help_text="The BOPIS_REJECTED lines the offer covers.")
    stores = models.JSONField(default=list, help_text='[{"facility_id", "code", "name", "distance_km"}], nearest first')
    can_ship = models.BooleanField(default=True)
    nonce = models.CharField(max_length=32, unique=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    choice = models.CharField(max_length=8, choices=Choice.choices, blank=True)
    chosen_facility = models.ForeignKey(
        "stores.Facility", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    used_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="Set when operations staff applied the choice for the customer.",
    )

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"Pickup alternatives for {self.order_id}"


class RejectionReason(models.Model):
    """Why a store manager gives items back, and what that says about the store's stock (operations edit these)."""

    class Effect(models.TextChoices):
        TO_RESERVED = "TO_RESERVED", "On hand drops to what other lines have reserved (not in stock)"
        REDUCE = "REDUCE", "On hand drops by the rejected quantity (damaged, worn, mismatch)"
        NONE = "NONE", "No stock effect (e.g. the store is too busy)"

    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=80)
    effect = models.CharField(max_length=12, choices=Effect.choices, default=Effect.NONE)
    is_active = models.BooleanField(default=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "code"]

    def __str__(self) -> str:
        return self.name


class LineRejection(models.Model):
    """One rejection of units of an order line by a store: what the rejections report counts."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="rejections")
    order_line = models.ForeignKey(OrderLine, on_delete=models.CASCADE, related_name="rejections")
    facility = models.ForeignKey("stores.Facility", on_delete=models.PROTECT, related_name="rejections")
    product = models.ForeignKey(Product, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    reason = models.ForeignKey(RejectionReason, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    reason_text = models.CharField(max_length=120, help_text='The reason as shown, e.g. "rejected to avoid split".')
    quantity = models.PositiveIntegerField()
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["facility", "created_at"])]

    def __str__(self) -> str:
        return f"{self.quantity} × line {self.order_line_id} at {self.facility_id}: {self.reason_text}"


class FeedFile(models.Model):
    """One CSV file received from the shop or the ERP: its stored copy, how far its import got, and its report.

    Recognised by content hash per kind, so a re-delivered file is never applied twice (oms.feeds).
    """

    class Kind(models.TextChoices):
        INVENTORY = "INVENTORY", "Inventory counts"
        ACKNOWLEDGEMENTS = "ACKNOWLEDGEMENTS", "WMS acknowledgements"
        FULFILLED = "FULFILLED", "WMS fulfillments"
        REJECTED = "REJECTED", "WMS rejections"

    class Source(models.TextChoices):
        UPLOAD = "UPLOAD", "Uploaded"
        DROP = "DROP", "Dropped in the inbox folder"
        COMMAND = "COMMAND", "Command line"

    class Status(models.TextChoices):
        RECEIVED = "RECEIVED", "Received"
        IMPORTING = "IMPORTING", "Importing"
        DONE = "DONE", "Done"
        REFUSED = "REFUSED", "Refused (the file could not be read; nothing changed)"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    name = models.CharField(max_length=255, help_text="The file's name as delivered.")
    source = models.CharField(max_length=8, choices=Source.choices)
    sha256 = models.CharField(max_length=64, help_text="Content hash: the same content is imported once per kind.")
    stored_path = models.CharField(max_length=500, help_text="The stored copy, relative to FEEDS_DIR.")
    size = models.BigIntegerField(default=0)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    received_at = models.DateTimeField(db_index=True)
    times_received = models.PositiveIntegerField(default=1, help_text="Deliveries of this content (re-deliveries "
                                                                      "change nothing).")
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RECEIVED, db_index=True)
    error = models.TextField(blank=True, help_text="Why the whole file was refused.")
    rows_total = models.PositiveIntegerField(default=0)
    rows_applied = models.PositiveIntegerField(default=0, help_text="Rows that changed stock.")
    rows_unchanged = models.PositiveIntegerField(default=0, help_text="Valid rows that matched the stock already.")
    rows_stale = models.PositiveIntegerField(default=0, help_text="Counts not newer than the newest count applied.")
    rows_rejected = models.PositiveIntegerField(default=0)
    # Progress: every line up to here is applied and reported, committed with the chunk that did it, so an import
    # that stopped (crash, lost worker) resumes after it. The claim says which import run owns the file now.
    lines_done = models.PositiveIntegerField(default=0)
    claim = models.UUIDField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["kind", "sha256"], name="feed_file_once_per_content")]

    def __str__(self) -> str:
        return f"feed #{self.pk} {self.get_kind_display()} {self.name}"


class FeedProblem(models.Model):
    """A row of a feed file that was rejected, with its line number and why."""

    feed = models.ForeignKey(FeedFile, on_delete=models.CASCADE, related_name="problems")
    line = models.PositiveIntegerField()
    reason = models.CharField(max_length=200)
    raw = models.CharField(max_length=300, blank=True, help_text="The row as read (truncated).")

    class Meta:
        ordering = ["feed", "line", "pk"]
        indexes = [models.Index(fields=["feed", "line"])]

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


class ShopPull(models.Model):
    """One safety-net pull of the orders the shop changed (oms/shop_pull.py): its window and what it found."""

    class Status(models.TextChoices):
        RUNNING = "RUNNING", "Running"
        OK = "OK", "Done"
        FAILED = "FAILED", "Failed"

    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    since = models.DateTimeField(help_text="Orders updated since this time were asked for.")
    until = models.DateTimeField(help_text="The newest update seen: the next pull starts here (minus the overlap).")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.RUNNING)
    found = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["status"], condition=Q(status="RUNNING"), name="one_running_shop_pull"),
        ]

    def __str__(self) -> str:
        return f"shop pull {self.pk} ({self.status}): found {self.found}"


class FeedExport(models.Model):
    """One CSV file written for the ERP/WMS (oms/feeds/exports.py): its messages are the outbox rows linked to it.

    Committed before its file is written; `written_at` is set once the file is complete under its final name, so
    an export without it is a file still to (re)write from its messages (docs/erp-feeds.md).
    """

    class Kind(models.TextChoices):
        ORDERS = "orders", "Orders"
        ALLOCATIONS = "allocations", "Allocations"
        FULFILLED = "fulfilled", "Fulfilled by stores"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    file_name = models.CharField(max_length=255, help_text="Under FEEDS_DIR/outbox/<kind>/.")
    rows = models.PositiveIntegerField(default=0, help_text="CSV rows after the header.")
    created_at = models.DateTimeField(db_index=True)
    written_at = models.DateTimeField(null=True, blank=True, help_text="When the file was complete under its name.")

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["written_at"], condition=Q(written_at__isnull=True),
                                name="feed_export_unwritten")]

    def __str__(self) -> str:
        return f"export #{self.pk} {self.file_name} ({self.rows} rows)"
