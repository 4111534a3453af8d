"""The store's work: pick jobs and lines, pack jobs, shipments and parcels, handovers."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django_fsm import FSMField, FSMModelMixin, transition


class ShortPickReason(models.Model):
    """Why an associate could not pick a line in full; operations staff edit the list."""

    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=80)
    is_active = models.BooleanField(default=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "code"]

    def __str__(self) -> str:
        return self.name


class BoxType(models.Model):
    """A box or mailer a store packs into: its size goes to the carrier, its own weight into the parcel's."""

    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=80)
    length_mm = models.PositiveIntegerField()
    width_mm = models.PositiveIntegerField()
    height_mm = models.PositiveIntegerField()
    tare_weight_grams = models.PositiveIntegerField(default=0, help_text="The empty box's own weight.")
    max_weight_grams = models.PositiveIntegerField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "code"]

    def __str__(self) -> str:
        return f"{self.name} ({self.length_mm // 10}×{self.width_mm // 10}×{self.height_mm // 10} cm)"


class PickBatch(models.Model):
    """Several pick jobs picked in one walk through the store; each job keeps its own tote."""

    facility = models.ForeignKey("stores.Facility", on_delete=models.PROTECT, related_name="pick_batches")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    pickers = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="pick_batches")
    version = models.PositiveIntegerField(default=0, db_default=0)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name_plural = "pick batches"

    def __str__(self) -> str:
        return f"Batch {self.pk}"


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
    batch = models.ForeignKey(PickBatch, null=True, blank=True, on_delete=models.SET_NULL, related_name="jobs")
    tote = models.CharField(max_length=16, blank=True, db_default="", help_text="Where its units go in a batch.")
    # Optimistic concurrency: every change bumps it; a tap carrying an older version is refused.
    version = models.PositiveIntegerField(default=0, db_default=0)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    due_at = models.DateTimeField(null=True, blank=True, db_index=True)
    created_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # An unstarted pickup job past its due time is escalated (shown to the manager and in the console),
    # never withdrawn: the customer chose the store.
    escalated_at = models.DateTimeField(null=True, blank=True)

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
    picked_at = models.DateTimeField(null=True, blank=True)

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
    shipment = models.OneToOneField(
        "Shipment", null=True, blank=True, on_delete=models.PROTECT, related_name="pack_job"
    )
    version = models.PositiveIntegerField(default=0, db_default=0)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["pk"]
        indexes = [models.Index(fields=["facility", "status"])]

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
        DELIVERED = "DELIVERED"
        CANCELED = "CANCELED"

    order = models.ForeignKey("oms.Order", on_delete=models.CASCADE, related_name="shipments")
    facility = models.ForeignKey("stores.Facility", on_delete=models.PROTECT, related_name="shipments")
    fulfillment_request = models.ForeignKey(
        "oms.FulfillmentRequest", on_delete=models.PROTECT, related_name="shipments"
    )
    status = FSMField(default=Status.OPEN, choices=Status.choices, protected=True, db_index=True)
    carrier = models.CharField(max_length=40, blank=True, help_text="Carrier code (fulfillment.carriers).")
    service = models.CharField(max_length=40, blank=True, help_text="The carrier's service code, e.g. GROUND.")
    return_tracking_number = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField()
    shipped_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

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

    @transition(field=status, source=Status.SHIPPED, target=Status.DELIVERED)
    def deliver(self):
        """The carrier reports every parcel delivered (fulfillment.tracking)."""

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
    box_type = models.ForeignKey(BoxType, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    weight_grams = models.PositiveIntegerField(default=0)
    carrier = models.CharField(max_length=40, blank=True)
    tracking_number = models.CharField(max_length=64, blank=True)
    tracking_url = models.URLField(blank=True)
    # A carrier that renders its own label hands us the PDF; the built-in carrier's is drawn on demand.
    label_pdf = models.BinaryField(null=True, blank=True)
    label_zpl = models.BinaryField(null=True, blank=True)  # a carrier's thermal label, when the store prints ZPL
    # What the carrier needs to find this parcel's purchase again (EasyPost: its shipment and tracker ids), kept
    # before the label is bought so a retried purchase never buys twice (fulfillment.labels).
    carrier_state = models.JSONField(default=dict, blank=True)
    refund_status = models.CharField(max_length=20, blank=True, help_text="The carrier's word on the last void.")
    voided_tracking_numbers = models.JSONField(default=list, blank=True)
    labeled_at = models.DateTimeField(null=True, blank=True)
    handed_over_at = models.DateTimeField(null=True, blank=True)
    # The carrier's latest scan (fulfillment.tracking): pre_transit, in_transit, out_for_delivery, delivered, …
    tracking_status = models.CharField(max_length=24, blank=True)
    tracking_updated_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["tracking_number"], condition=~Q(tracking_number=""), name="one_parcel_per_tracking_number"
            ),
        ]

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


class ParcelItem(models.Model):
    """Units of one order line packed into one parcel."""

    parcel = models.ForeignKey(Parcel, on_delete=models.CASCADE, related_name="items")
    order_line = models.ForeignKey("oms.OrderLine", on_delete=models.PROTECT, related_name="parcel_items")
    quantity = models.PositiveIntegerField()

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(fields=["parcel", "order_line"], name="one_item_per_line_per_parcel"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="parcel_item_quantity_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × line {self.order_line_id}"


class CarrierSerial(models.Model):
    """The last serial a carrier adapter issued (the built-in carrier numbers its tracking numbers from it)."""

    carrier = models.CharField(max_length=40, unique=True)
    last = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.carrier}: {self.last}"


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
    carrier = models.CharField(max_length=40, blank=True, help_text="For carrier handovers: who collects.")
    status = FSMField(default=Status.OPEN, choices=Status.choices, protected=True, db_index=True)
    cancel_reason = models.CharField(max_length=20, choices=CancelReason.choices, blank=True)
    handed_over_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()
    handed_over_at = models.DateTimeField(null=True, blank=True)

    # Customer handovers (pickup): what the customer shows at the counter, where the items wait, and when
    # the reminder and the expiry are due (computed from the store's settings when the items are ready).
    pickup_code = models.CharField(max_length=12, blank=True, help_text="Short code the customer shows.")
    shelf = models.CharField(max_length=32, blank=True, help_text="Where the items wait for the customer.")
    remind_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    # Proof of pickup (when the store asks for it).
    collected_by = models.CharField(max_length=120, blank=True)
    collected_relation = models.CharField(max_length=10, blank=True, help_text="SELF or OTHER.")
    collected_id_last4 = models.CharField(max_length=4, blank=True)
    version = models.PositiveIntegerField(default=0, db_default=0)

    class Meta:
        ordering = ["pk"]
        indexes = [models.Index(fields=["facility", "status"])]
        constraints = [
            models.UniqueConstraint(fields=["pickup_code"], condition=~Q(pickup_code=""), name="one_pickup_code"),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} handover {self.pk}"

    @transition(field=status, source=Status.OPEN, target=Status.HANDED_OVER)
    def hand_over(self):
        pass

    @transition(field=status, source=Status.OPEN, target=Status.CANCELED)
    def cancel(self):
        pass


class PutBackTask(FSMModelMixin, models.Model):
    """Units that left a tote or the pickup shelf without leaving the building: back to their bins.

    The one put-back mechanism (DESIGN.md "Stock"): a canceled, rejected, refused or uncollected line
    that was already picked keeps its reservation until an associate confirms the units are back on
    the shelf; confirming releases it.
    """

    class Status(models.TextChoices):
        OPEN = "OPEN"
        DONE = "DONE"

    class Reason(models.TextChoices):
        CONSUMER_NO_SHOW = "CONSUMER_NO_SHOW", "Customer did not collect"
        CONSUMER_REJECTS = "CONSUMER_REJECTS", "Customer refused the items"
        ORDER_CANCELED = "ORDER_CANCELED", "Order canceled"
        REJECTED = "REJECTED", "Rejected by the store"

    facility = models.ForeignKey("stores.Facility", on_delete=models.PROTECT, related_name="put_back_tasks")
    order = models.ForeignKey("oms.Order", on_delete=models.CASCADE, related_name="put_back_tasks")
    reason = models.CharField(max_length=20, choices=Reason.choices)
    note = models.CharField(max_length=200, blank=True)
    status = FSMField(default=Status.OPEN, choices=Status.choices, protected=True, db_index=True)
    created_at = models.DateTimeField()
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+")

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["facility", "status"])]

    def __str__(self) -> str:
        return f"Put-back {self.pk} ({self.get_reason_display()})"

    @transition(field=status, source=Status.OPEN, target=Status.DONE)
    def confirm(self):
        """The units are back in their bins."""


class PutBackItem(models.Model):
    """Units of one order line to return; they stay reserved until the task is confirmed."""

    task = models.ForeignKey(PutBackTask, on_delete=models.CASCADE, related_name="items")
    order_line = models.ForeignKey("oms.OrderLine", on_delete=models.PROTECT, related_name="put_back_items")
    product = models.ForeignKey("oms.Product", on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()

    class Meta:
        ordering = ["pk"]
        constraints = [models.CheckConstraint(condition=Q(quantity__gt=0), name="put_back_quantity_positive")]

    def __str__(self) -> str:
        return f"{self.quantity} × product {self.product_id}"


class LineProblem(FSMModelMixin, models.Model):
    """An associate reports that a line cannot be fulfilled; the store manager confirms it (a rejection) or not."""

    class Status(models.TextChoices):
        OPEN = "OPEN"
        CONFIRMED = "CONFIRMED"
        DISMISSED = "DISMISSED"

    facility = models.ForeignKey("stores.Facility", on_delete=models.PROTECT, related_name="line_problems")
    pick_line = models.ForeignKey(PickLine, on_delete=models.CASCADE, related_name="problems")
    note = models.CharField(max_length=200, blank=True)
    reported_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    reported_at = models.DateTimeField()
    status = FSMField(default=Status.OPEN, choices=Status.choices, protected=True, db_index=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["reported_at", "pk"]

    def __str__(self) -> str:
        return f"Problem with pick line {self.pick_line_id} ({self.status})"

    @transition(field=status, source=Status.OPEN, target=Status.CONFIRMED)
    def confirm(self):
        """The manager rejects the line."""

    @transition(field=status, source=Status.OPEN, target=Status.DISMISSED)
    def dismiss(self):
        pass


class TrackingEvent(models.Model):
    """One scan the carrier reported for a parcel (EasyPost's tracking_details), stored once however often the
    carrier's webhook repeats it: `key` is the event's own identity (time, status, message)."""

    parcel = models.ForeignKey(Parcel, on_delete=models.CASCADE, related_name="tracking_events")
    key = models.CharField(max_length=64)
    at = models.DateTimeField()
    status = models.CharField(max_length=24)
    message = models.CharField(max_length=300, blank=True)
    location = models.CharField(max_length=200, blank=True)
    received_at = models.DateTimeField()

    class Meta:
        ordering = ["at", "pk"]
        constraints = [models.UniqueConstraint(fields=["parcel", "key"], name="tracking_event_once_per_parcel")]

    def __str__(self) -> str:
        return f"{self.parcel} {self.status} at {self.at:%Y-%m-%d %H:%M}"


class ScanForm(models.Model):
    """A carrier's end-of-day scan form (EasyPost: its ScanForm) of the parcels a facility handed to it."""

    facility = models.ForeignKey("stores.Facility", on_delete=models.PROTECT, related_name="scan_forms")
    carrier = models.CharField(max_length=40)
    carrier_form_id = models.CharField(max_length=80)
    form_url = models.URLField(blank=True, max_length=500)
    tracking_numbers = models.JSONField(default=list)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.carrier} scan form {self.carrier_form_id}"
