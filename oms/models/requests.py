"""Fulfillment requests: what the OMS hands to one location for one order."""

from django.db import models
from django_fsm import FSMField, FSMModelMixin, transition

from oms.models.orders import Order


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
