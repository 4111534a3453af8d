"""Celery tasks of the order-management app: thin callers of the services."""

from celery import shared_task
from django.contrib.auth import get_user_model
from django.utils import timezone

from oms.feeds.exports import erp_feeds_export
from oms.feeds.inventory import inventory_drops_import
from oms.feeds.wms import wms_drops_import
from oms.health import heartbeat_record
from oms.orders.approval import orders_approve_pending
from oms.outbox.dispatch import outbox_dispatch
from oms.queues.parkings import unfillable_cancel_expired, waiting_lines_release
from oms.routing.runs import RunAlreadyActive, brokering_run
from oms.shop.pull import PullError, shop_orders_pull


@shared_task(name="oms.tasks.approve_orders", acks_late=True)
def approve_orders() -> dict:
    """Approve every CREATED order that passes its checks (scheduled; safe to run twice or at once)."""
    return orders_approve_pending().counts()


@shared_task(name="oms.tasks.broker_queue", acks_late=True)
def broker_queue(queue: str, trigger: str = "schedule", actor_id: int | None = None) -> dict:
    """Route one queue (scheduled per queue, or asked for from the console with who asked); a run of that queue
    already going is a normal outcome."""
    actor = get_user_model().objects.filter(pk=actor_id).first() if actor_id else None
    try:
        run = brokering_run(queue=queue, trigger=trigger, actor=actor)
    except RunAlreadyActive:
        return {"skipped": "already running"}
    return {
        "run": run.pk, "orders": run.orders_considered, "lines": run.lines_considered,
        "allocated": run.lines_allocated, "parked": run.lines_parked, "errors": len(run.errors),
    }


@shared_task(name="oms.tasks.cancel_expired_unfillable", acks_late=True)
def cancel_expired_unfillable() -> int:
    """Cancel the UNFILLABLE lines whose auto-cancel date has passed (scheduled daily; safe to run twice)."""
    return unfillable_cancel_expired(now=timezone.now())


@shared_task(name="oms.tasks.release_waiting_lines", acks_late=True)
def release_waiting_lines() -> int:
    """Send pre-orders and backorders whose date came or whose stock arrived to BROKERING (scheduled)."""
    return waiting_lines_release(now=timezone.now())


@shared_task(name="oms.tasks.dispatch_outbox", acks_late=True)
def dispatch_outbox() -> dict:
    """Deliver the due outbox messages (kicked on commit by outbox_write, and swept every OUTBOX_SWEEP_SECONDS).

    Safe to run twice or at once: each message is claimed under a row lock. A run that stopped at its batch
    limit queues the next one rather than holding the worker.
    """
    result = outbox_dispatch()
    if result.more:
        dispatch_outbox.delay()
    return result.counts()


@shared_task(name="oms.tasks.import_inventory_drops", acks_late=True)
def import_inventory_drops() -> list[str]:
    """Import the inventory files dropped in FEEDS_DIR/inbox/inventory/ (swept every FEED_DROP_SECONDS).

    Safe to run twice or at once: each file is claimed by an atomic rename, and content already imported is
    recognised by its hash and changes nothing.
    """
    results = inventory_drops_import(now=timezone.now())
    return [f"{name}: {result.summary() if result else 'failed (kept for a retry)'}" for name, result in results]


@shared_task(name="oms.tasks.import_wms_drops", acks_late=True)
def import_wms_drops() -> list[str]:
    """Import the WMS files dropped in FEEDS_DIR/inbox/{acknowledgements,fulfilled,rejected}/ (every FEED_DROP_SECONDS).

    Safe to run twice or at once, like import_inventory_drops: files are claimed by an atomic rename and
    content already imported changes nothing.
    """
    results = wms_drops_import(now=timezone.now())
    return [f"{name}: {result.summary() if result else 'failed (kept for a retry)'}" for name, result in results]


@shared_task(name="oms.tasks.export_erp_feeds", acks_late=True)
def export_erp_feeds() -> list[str]:
    """Write the ERP/WMS export files from the PENDING ERP outbox messages (every FEED_EXPORT_SECONDS).

    Safe to run twice or at once: messages are taken under SKIP LOCKED into one export each, and a file a
    crash left unwritten is written again, identically, by the next run (oms/feeds/exports.py).
    """
    return erp_feeds_export(now=timezone.now()).lines()


@shared_task(name="oms.tasks.pull_shop_orders", acks_late=True)
def pull_shop_orders() -> str:
    """Import the orders Shopify changed since the last good pull (every SHOPIFY_PULL_SECONDS; oms/shop/pull.py).

    Without Shopify settings it does nothing. Safe to run twice: one pull runs at a time and each order version
    is imported once.
    """
    try:
        pull = shop_orders_pull(now=timezone.now())
    except PullError as exc:
        return f"skipped: {exc}"
    return f"{pull.status}: found {pull.found}, created {pull.created}, updated {pull.updated}"


@shared_task(name="oms.tasks.worker_heartbeat", acks_late=True)
def worker_heartbeat() -> None:
    """Beat sends it every HEARTBEAT_SECONDS; a worker running it is what /readyz calls a live worker."""
    heartbeat_record()
