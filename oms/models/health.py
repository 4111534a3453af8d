"""Heartbeats: when each background process last proved it works, for the readiness probe (/readyz)."""

from django.db import models


class Heartbeat(models.Model):
    """The last time `name` (e.g. "worker": a task beat sent and a worker ran) did its periodic work."""

    name = models.CharField(max_length=40, unique=True)
    at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} at {self.at:%Y-%m-%d %H:%M:%S}"
