"""Routing rules, brokering runs and the decision recorded for each order a run considered."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from oms.models.orders import Order, OrderLine


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
