"""Celery tasks of the store app: thin callers of the services, safe to run twice or at once."""

from celery import shared_task
from django.utils import timezone

from fulfillment.pickup import pickup_reminders_send, pickups_expire
from fulfillment.reroute import pick_jobs_withdraw_unstarted, pickup_jobs_escalate


@shared_task(name="fulfillment.tasks.send_pickup_reminders", acks_late=True)
def send_pickup_reminders() -> int:
    """Remind customers whose pickup waits past their store's reminder time (scheduled)."""
    return pickup_reminders_send(now=timezone.now())


@shared_task(name="fulfillment.tasks.expire_pickups", acks_late=True)
def expire_pickups() -> int:
    """Cancel pickups not collected by their expiry; their items become put-back tasks (scheduled)."""
    return pickups_expire(now=timezone.now())


@shared_task(name="fulfillment.tasks.withdraw_unstarted_pick_jobs", acks_late=True)
def withdraw_unstarted_pick_jobs() -> int:
    """Withdraw ship pick jobs nobody started in time; their lines go to REJECTED (scheduled)."""
    return pick_jobs_withdraw_unstarted(now=timezone.now())


@shared_task(name="fulfillment.tasks.escalate_late_pickup_jobs", acks_late=True)
def escalate_late_pickup_jobs() -> int:
    """Escalate pickup jobs not started by their due time to the store manager (scheduled)."""
    return pickup_jobs_escalate(now=timezone.now())
