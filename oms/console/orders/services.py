"""Console actions on orders that need a check the underlying service leaves to its caller."""

from datetime import datetime

from django.db import transaction

from oms.models import Order
from oms.orders.cancel import order_cancel


class OrderActionRefused(ValueError):
    """The order's state does not allow the action any more (e.g. someone else canceled it meanwhile)."""


def order_cancel_by_operator(*, order_id: int, actor, reason: str, now: datetime | None = None) -> Order:
    """Cancel a CREATED or APPROVED order (`oms.orders.cancel.order_cancel`) on an operator's request.

    `order_cancel` treats a second cancellation as done and cancels only what is open on an order with
    fulfilled lines; an operator who saw the order open must learn instead that it no longer is. Locks the
    order row first (as order_cancel does), so the check and the cancellation see the same state.
    """
    if not reason.strip():
        raise OrderActionRefused("Give a reason for the cancellation.")
    with transaction.atomic():
        order = Order.objects.select_for_update().filter(pk=order_id).first()
        if order is None:
            raise OrderActionRefused(f"No order {order_id}.")
        if order.status not in (Order.Status.CREATED, Order.Status.APPROVED):
            raise OrderActionRefused(f"Order {order.name} is {order.status}: only open orders can be canceled.")
        return order_cancel(order_id=order.pk, actor=actor, reason=reason.strip(), now=now)
