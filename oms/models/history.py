"""The transition log: who changed what, when, from which state to which, and why."""

from django.conf import settings
from django.db import models

from oms.models.orders import Order


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
