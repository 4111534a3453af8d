"""Celery tasks of the order-management app: thin callers of the services."""

from celery import shared_task

from oms.approval import orders_approve_pending


@shared_task(acks_late=True)
def approve_orders() -> dict:
    """Approve every CREATED order that passes its checks (scheduled; safe to run twice or at once)."""
    return orders_approve_pending().counts()
