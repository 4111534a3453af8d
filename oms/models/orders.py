"""Orders and their lines, with the notes operations staff write on them."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django_fsm import FSMField, FSMModelMixin, transition

from oms.models.products import Product


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
