"""What the shop sent and what was pulled from it: webhook receipts and safety-net pulls."""

from django.db import models
from django.db.models import Q


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


class ShopPull(models.Model):
    """One safety-net pull of the orders the shop changed (oms/shop/pull.py): its window and what it found."""

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
