"""Why a location rejected units, and the record of each rejection."""

from django.conf import settings
from django.db import models

from oms.models.orders import Order, OrderLine
from oms.models.products import Product


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
