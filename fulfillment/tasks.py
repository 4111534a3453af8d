"""Celery tasks of the store app: thin callers of the services, safe to run twice or at once."""

from celery import shared_task
from django.utils import timezone

from fulfillment.pickup import pickup_reminders_send, pickups_expire


@shared_task(acks_late=True)
def send_pickup_reminders() -> int:
    """Remind customers whose pickup waits past their store's reminder time (scheduled)."""
    return pickup_reminders_send(now=timezone.now())


@shared_task(acks_late=True)
def expire_pickups() -> int:
    """Cancel pickups not collected by their expiry; their items become put-back tasks (scheduled)."""
    return pickups_expire(now=timezone.now())
