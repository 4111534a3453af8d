"""Customer links carry a signed code: nobody guesses one, so a stream of bad codes from one address is stopped."""

import pytest
from django.core.cache import cache
from django.urls import reverse

from oms.core.pickup_offers import pickup_offer_token
from tests.oms.pickup.alternatives_world import offered, rejected_order, world_make

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_counters():
    cache.clear()
    yield
    cache.clear()


def bad(client, number: int, address: str = "198.51.100.7"):
    return client.get(reverse("pickup-alternatives", kwargs={"token": f"guess-{number}"}), REMOTE_ADDR=address)


def test_bad_codes_from_one_address_are_stopped_after_the_limit(client, settings):
    settings.CODE_GUESS_LIMIT = 5
    assert [bad(client, n).status_code for n in range(5)] == [400] * 5
    stopped = bad(client, 99)
    assert stopped.status_code == 429 and "Too many links" in stopped.content.decode()


def test_the_limit_holds_for_a_real_link_from_that_address_but_not_for_another_address(client, settings):
    settings.CODE_GUESS_LIMIT = 3
    world = world_make()
    order, _ = rejected_order(world.chosen, [(world.toy, 1)])
    real = reverse("pickup-alternatives", kwargs={"token": pickup_offer_token(offered(order))})
    for n in range(3):
        bad(client, n)
    assert client.get(real, REMOTE_ADDR="198.51.100.7").status_code == 429
    assert client.get(real, REMOTE_ADDR="203.0.113.9").status_code == 200


def test_used_or_expired_links_are_not_counted_as_guesses(client, settings):
    settings.CODE_GUESS_LIMIT = 2
    world = world_make()
    order, _ = rejected_order(world.chosen, [(world.toy, 1)])
    real = reverse("pickup-alternatives", kwargs={"token": pickup_offer_token(offered(order))})
    client.post(real, {"choice": "CANCEL"}, REMOTE_ADDR="198.51.100.7")
    for _ in range(4):
        assert client.get(real, REMOTE_ADDR="198.51.100.7").status_code != 429  # "already used", every time
