"""Two associates handing over the same pickup at once: one hands it over, the other is refused.

Real threads on a Barrier against PostgreSQL: the order lock serialises the two handovers; the second
finds the pickup collected (or its version changed) and changes nothing.
"""

import pytest

from fulfillment.counter import CounterError, pickup_hand_over
from fulfillment.ledger import stock_ledger_problems
from fulfillment.models import HandoverJob
from oms.models import OutboxMessage
from stores.models import StockLevel
from tests.factories import ProductFactory
from tests.fulfillment.counter_world import ready_pickup, stock, store_with_people
from tests.races import race

pytestmark = pytest.mark.django_db(transaction=True)

ROUNDS = 5


def test_two_associates_handing_over_one_pickup_at_once_hand_it_over_once():
    facility, associate, manager = store_with_people()
    for _ in range(ROUNDS):
        product = ProductFactory()
        stock(facility, product, 5)
        pickup = ready_pickup(facility, associate, [(product, 2)])

        outcomes = race(refused=CounterError, done="handed over", calls=[
            lambda user=user, pickup=pickup: pickup_hand_over(
                handover_id=pickup.pk, facility_id=facility.pk, actor=user, version=0, refused={}, proof=None)
            for user in (associate, manager)
        ])

        assert outcomes.count("handed over") == 1, outcomes
        refused = next(outcome for outcome in outcomes if outcome != "handed over")
        assert refused[0] == 409 and "already collected" in refused[1], outcomes
        assert HandoverJob.objects.get(pk=pickup.pk).version == 1
        assert StockLevel.objects.values_list("on_hand", "reserved").get(product=product) == (3, 0)
        assert OutboxMessage.objects.filter(order=pickup.order_id, kind="fulfillment").count() == 1
    assert stock_ledger_problems() == []
