"""The pickup page's tools: record the pickup shelf, send the ready email again (on purpose, logged)."""

import pytest
from django.urls import reverse

from fulfillment.models import HandoverJob
from oms.models import OrderNote, OutboxMessage
from tests.factories import ProductFactory
from tests.fulfillment.counter_world import ready_pickup
from tests.fulfillment.store_world import HTMX, stock, store_with_people

pytestmark = pytest.mark.django_db


@pytest.fixture
def pickup():
    facility, associate, _ = store_with_people()
    lamp = ProductFactory(name="Brass lamp")
    stock(facility, lamp, 2)
    return facility, associate, ready_pickup(facility, associate, [(lamp, 1)])


def url(name, facility, handover):
    return reverse(f"fulfillment:{name}", args=[facility.code, handover.pk])


def test_the_shelf_is_recorded_and_shown(client, pickup):
    facility, associate, handover = pickup
    client.force_login(associate)

    response = client.post(url("counter-shelf", facility, handover), {"shelf": " P-3 "}, **HTMX)

    assert response.status_code == 200 and "Shelf P-3 recorded" in response.content.decode()
    assert HandoverJob.objects.get(pk=handover.pk).shelf == "P-3"


def test_resend_sends_the_ready_email_again_and_logs_it(client, pickup):
    facility, associate, handover = pickup
    client.force_login(associate)

    response = client.post(url("counter-resend", facility, handover), **HTMX)

    assert response.status_code == 200 and "on its way again" in response.content.decode()
    assert OutboxMessage.objects.filter(kind="pickup-ready", order=handover.order).count() == 2
    assert OrderNote.objects.filter(order=handover.order, actor=associate, text__contains="sent again").exists()


def test_another_store_cannot_resend_or_set_the_shelf(client, pickup):
    facility, _, handover = pickup
    other, outsider, _ = store_with_people("NYC-01")
    client.force_login(outsider)

    assert client.post(url("counter-resend", facility, handover)).status_code == 404
    assert client.post(url("counter-resend", other, handover), **HTMX).status_code == 404
    assert client.post(url("counter-shelf", other, handover), {"shelf": "X"}, **HTMX).status_code == 404
    assert OutboxMessage.objects.filter(kind="pickup-ready", order=handover.order).count() == 1
    assert HandoverJob.objects.get(pk=handover.pk).shelf == ""


def test_a_collected_pickup_cannot_be_resent(client, pickup):
    facility, associate, handover = pickup
    HandoverJob.objects.filter(pk=handover.pk).update(status="HANDED_OVER")
    client.force_login(associate)

    response = client.post(url("counter-resend", facility, handover), **HTMX)

    assert response.status_code == 409 and "no longer waiting" in response.content.decode()
