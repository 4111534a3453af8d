"""An order's timeline is read in a bounded number of queries, however many lines it has."""

import pytest
from django.utils import timezone

from oms.core.history import order_history, record, transit, transit_and_save
from oms.models import FulfillmentRequest, TransitionLog
from tests.factories import FacilityFactory, OrderFactory, OrderLineFactory, UserFactory

pytestmark = pytest.mark.django_db


def order_with_history(line_count: int):
    actor = UserFactory()
    facility = FacilityFactory()
    order = OrderFactory()
    now = timezone.now()
    transit_and_save(order, "approve", actor=actor, reason="checks passed", at=now)
    lines = [OrderLineFactory(order=order) for _ in range(line_count)]
    entries = [transit(line, "enqueue", actor=actor, reason="approved", at=now) for line in lines]
    for line in lines:
        line.queue = "BROKERING"
        line.save()
    record(entries)
    request = FulfillmentRequest.objects.create(
        order=order, facility=facility, number=f"{order.name}-1", created_at=now
    )
    transit_and_save(request, "process", at=now, reason="routed")
    return order


@pytest.mark.parametrize("line_count", [2, 20])
def test_order_history_is_read_in_one_query_for_2_or_20_lines(django_assert_num_queries, line_count):
    order = order_with_history(line_count)
    with django_assert_num_queries(1):
        history = order_history(order)
        names = [
            (entry.object_type, entry.transition, entry.actor and entry.actor.username) for entry in history
        ]
    assert len(names) == line_count + 2
    assert names[0][:2] == ("order", "approve")
    assert ("fulfillmentrequest", "process", None) in names


def test_transit_logs_source_target_actor_and_reason():
    actor = UserFactory()
    order = OrderFactory()
    transit_and_save(order, "cancel", actor=actor, reason="customer asked", at=timezone.now())
    log = TransitionLog.objects.get(object_id=order.pk, object_type="order")
    assert (log.source_state, log.target_state, log.actor, log.reason, log.order_id) == (
        "CREATED", "CANCELED", actor, "customer asked", order.pk,
    )
