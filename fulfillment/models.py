"""The store's work: pick jobs and lines, pack jobs, shipments and parcels, handovers."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django_fsm import FSMField, FSMModelMixin, transition


class PickJob(FSMModelMixin, models.Model):
    class Status(models.TextChoices):
        OPEN = "OPEN"
        IN_PROGRESS = "IN_PROGRESS"
        CLOSED = "CLOSED"
        CANCELED = "CANCELED"

    class Outcome(models.TextChoices):
        PICKED = "PICKED", "Picked"
        NOTHING_PICKED = "NOTHING_PICKED", "Nothing picked"

    facility = models.ForeignKey("stores.Facility", on_delete=models.PROTECT, related_name="pick_jobs")
    order = models.ForeignKey("oms.Order", on_delete=models.CASCADE, related_name="pick_jobs")
    fulfillment_request = models.ForeignKey(
        "oms.FulfillmentRequest", on_delete=models.CASCADE, related_name="pick_jobs"
    )
    status = FSMField(default=Status.OPEN, choices=Status.choices, protected=True, db_index=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, blank=True)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="pick_jobs"
    )
    due_at = models.DateTimeField(null=True, blank=True, db_index=True)
    created_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["due_at", "pk"]
        indexes = [models.Index(fields=["facility", "status", "due_at"])]

    def __str__(self) -> str:
        return f"Pick job {self.pk} ({self.order_id})"

    @transition(field=status, source=Status.OPEN, target=Status.IN_PROGRESS)
    def start(self):
        pass

    @transition(field=status, source=Status.IN_PROGRESS, target=Status.OPEN)
    def pause(self):
        """Picks made stay recorded."""

    @transition(field=status, source=Status.IN_PROGRESS, target=Status.CLOSED)
    def close(self):
        pass

    @transition(field=status, source=[Status.OPEN, Status.IN_PROGRESS], target=Status.CANCELED)
    def cancel(self):
        pass


class PickLine(FSMModelMixin, models.Model):
    class Status(models.TextChoices):
        OPEN = "OPEN"
        PICKED = "PICKED"
        SHORT = "SHORT"
        CANCELED = "CANCELED"

    pick_job = models.ForeignKey(PickJob, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey("oms.OrderLine", on_delete=models.CASCADE, related_name="pick_lines")
    product = models.ForeignKey("oms.Product", on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()
    picked_quantity = models.PositiveIntegerField(default=0)
    status = FSMField(default=Status.OPEN, choices=Status.choices, protected=True)
    short_reason = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(picked_quantity__lte=models.F("quantity")), name="pick_not_above_ordered"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × product {self.product_id} ({self.status})"

    @transition(field=status, source=Status.OPEN, target=Status.PICKED)
    def pick(self):
        pass

    @transition(field=status, source=Status.OPEN, target=Status.SHORT)
    def short(self):
        pass

    @transition(field=status, source=Status.OPEN, target=Status.CANCELED)
    def cancel(self):
        pass


class PackJob(FSMModelMixin, models.Model):
    class Status(models.TextChoices):
        OPEN = "OPEN"
        IN_PROGRESS = "IN_PROGRESS"
        CLOSED = "CLOSED"
        CANCELED = "CANCELED"

    facility = models.ForeignKey("stores.Facility", on_delete=models.PROTECT, related_name="pack_jobs")
    order = models.ForeignKey("oms.Order", on_delete=models.CASCADE, related_name="pack_jobs")
    pick_job = models.ForeignKey(PickJob, null=True, blank=True, on_delete=models.SET_NULL, related_name="pack_jobs")
    status = FSMField(default=Status.OPEN, choices=Status.choices, protected=True, db_index=True)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"Pack job {self.pk}"

    @transition(field=status, source=Status.OPEN, target=Status.IN_PROGRESS)
    def start(self):
        pass

    @transition(field=status, source=Status.IN_PROGRESS, target=Status.CLOSED)
    def close(self):
        pass

    @transition(field=status, source=[Status.OPEN, Status.IN_PROGRESS], target=Status.CANCELED)
    def cancel(self):
        pass


class Shipment(FSMModelMixin, models.Model):
    """What one facility ships for one order (ship orders only)."""

    class Status(models.TextChoices):
        OPEN = "OPEN"
        READY = "READY"
        SHIPPED = "SHIPPED"
        CANCELED = "CANCELED"

    order = models.ForeignKey("oms.Order", on_delete=models.CASCADE, related_name="shipments")
    facility = models.ForeignKey("stores.Facility", on_delete=models.PROTECT, related_name="shipments")
    fulfillment_request = models.ForeignKey(
        "oms.FulfillmentRequest", on_delete=models.PROTECT, related_name="shipments"
    )
    status = FSMField(default=Status.OPEN, choices=Status.choices, protected=True, db_index=True)
    carrier = models.CharField(max_length=40, blank=True)
    created_at = models.DateTimeField()
    shipped_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"Shipment {self.pk}"

    @transition(field=status, source=Status.OPEN, target=Status.READY)
    def mark_ready(self):
        """Every parcel is labelled."""

    @transition(field=status, source=Status.READY, target=Status.OPEN)
    def reopen(self):
        """A label was voided, so not every parcel is labelled any more."""

    @transition(field=status, source=Status.READY, target=Status.SHIPPED)
    def ship(self):
        pass

    @transition(field=status, source=[Status.OPEN, Status.READY], target=Status.CANCELED)
    def cancel(self):
        pass


class Parcel(FSMModelMixin, models.Model):
    class Status(models.TextChoices):
        OPEN = "OPEN"
        LABELED = "LABELED"
        HANDED_OVER = "HANDED_OVER"
        CANCELED = "CANCELED"

    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="parcels")
    status = FSMField(default=Status.OPEN, choices=Status.choices, protected=True)
    box_type = models.CharField(max_length=40, blank=True)
    weight_grams = models.PositiveIntegerField(default=0)
    tracking_number = models.CharField(max_length=64, blank=True)
    tracking_url = models.URLField(blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"Parcel {self.tracking_number or self.pk}"

    @transition(field=status, source=Status.OPEN, target=Status.LABELED)
    def label(self):
        pass

    @transition(field=status, source=Status.LABELED, target=Status.OPEN)
    def void_label(self):
        pass

    @transition(field=status, source=Status.LABELED, target=Status.HANDED_OVER)
    def hand_over(self):
        pass

    @transition(field=status, source=[Status.OPEN, Status.LABELED], target=Status.CANCELED)
    def cancel(self):
        pass


class HandoverJob(FSMModelMixin, models.Model):
    class Status(models.TextChoices):
        OPEN = "OPEN"
        HANDED_OVER = "HANDED_OVER"
        CANCELED = "CANCELED"

    class Channel(models.TextChoices):
        CARRIER = "CARRIER", "Carrier"
        CUSTOMER = "CUSTOMER", "Customer"

    class CancelReason(models.TextChoices):
        CONSUMER_NO_SHOW = "CONSUMER_NO_SHOW", "Customer did not collect"
        CONSUMER_REJECTS = "CONSUMER_REJECTS", "Customer refused the items"
        ORDER_CANCELED = "ORDER_CANCELED", "Order canceled"

    facility = models.ForeignKey("stores.Facility", on_delete=models.PROTECT, related_name="handover_jobs")
    order = models.ForeignKey("oms.Order", on_delete=models.CASCADE, related_name="handover_jobs")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    shipment = models.ForeignKey(Shipment, null=True, blank=True, on_delete=models.PROTECT, related_name="handovers")
    status = FSMField(default=Status.OPEN, choices=Status.choices, protected=True, db_index=True)
    cancel_reason = models.CharField(max_length=20, choices=CancelReason.choices, blank=True)
    created_at = models.DateTimeField()
    handed_over_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["pk"]
        indexes = [models.Index(fields=["facility", "status"])]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} handover {self.pk}"

    @transition(field=status, source=Status.OPEN, target=Status.HANDED_OVER)
    def hand_over(self):
        pass

    @transition(field=status, source=Status.OPEN, target=Status.CANCELED)
    def cancel(self):
        pass
