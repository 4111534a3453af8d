"""The outbox: every message that leaves the system, as a row written with the change that causes it."""

from django.db import models

from oms.models.orders import Order


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
