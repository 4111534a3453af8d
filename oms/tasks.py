"""Celery tasks of the order-management app: thin callers of the services."""

from celery import shared_task

from oms.approval import orders_approve_pending
from oms.routing.runs import RunAlreadyActive, brokering_run


@shared_task(acks_late=True)
def approve_orders() -> dict:
    """Approve every CREATED order that passes its checks (scheduled; safe to run twice or at once)."""
    return orders_approve_pending().counts()


@shared_task(acks_late=True)
def broker_queue(queue: str) -> dict:
    """Route one queue (scheduled per queue); a run of that queue already going is a normal outcome."""
    try:
        run = brokering_run(queue=queue, trigger="schedule")
    except RunAlreadyActive:
        return {"skipped": "already running"}
    return {
        "run": run.pk, "orders": run.orders_considered, "lines": run.lines_considered,
        "allocated": run.lines_allocated, "parked": run.lines_parked, "errors": len(run.errors),
    }
