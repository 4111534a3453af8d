"""What the store sees of the timed reroute: the warning on the queue, the escalated badge, the manager's tile."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from fulfillment.models import PickJob
from fulfillment.reroute import pickup_jobs_escalate
from tests.factories import ProductFactory
from tests.fulfillment.store_world import routed_order, stock, store_with_people

pytestmark = pytest.mark.django_db


@pytest.fixture
def store():
    # Without opening hours the deadline is plain hours after creation, whatever the weekday the test runs on.
    facility, associate, manager = store_with_people(opening_hours={}, time_zone="UTC")
    product = ProductFactory()
    stock(facility, product, 200, "A-01")
    return facility, associate, manager, product


def queue(client, facility) -> str:
    return client.get(reverse("fulfillment:pick-queue", args=[facility.code])).content.decode()


def soon_withdrawn(facility, product):
    """A ship job withdrawn in ten minutes (24 h after creation): inside the 30-minute warning window."""
    _, job = routed_order(facility, [(product, 1)])
    created = timezone.now() - timedelta(hours=24) + timedelta(minutes=10)
    PickJob.objects.filter(pk=job.pk).update(created_at=created)
    return job, created + timedelta(hours=24)


def test_a_job_inside_the_warning_window_says_when_it_will_be_withdrawn(client, store):
    facility, associate, _, product = store
    _, deadline = soon_withdrawn(facility, product)
    routed_order(facility, [(product, 1)])  # a fresh job: no warning
    client.force_login(associate)

    page = queue(client, facility)

    assert page.count("unless started") == 1
    assert f"Withdrawn at {deadline:%H:%M} unless started" in page


def test_an_escalated_pickup_job_carries_a_badge(client, store):
    facility, associate, _, product = store
    _, job = routed_order(facility, [(product, 1)], pickup=True)
    PickJob.objects.filter(pk=job.pk).update(due_at=timezone.now() - timedelta(minutes=5))
    pickup_jobs_escalate()
    client.force_login(associate)

    page = queue(client, facility)

    assert ">Escalated</strong>" in page and "unless started" not in page


def test_the_manager_sees_the_count_of_escalated_pickups_on_the_home_page(client, store):
    facility, associate, manager, product = store
    _, job = routed_order(facility, [(product, 1)], pickup=True)
    PickJob.objects.filter(pk=job.pk).update(due_at=timezone.now() - timedelta(minutes=5))
    pickup_jobs_escalate()

    client.force_login(manager)
    page = client.get(reverse("home")).content.decode()
    assert "Escalated pickups" in page
    assert '<span class="tile-count">1</span><span class="tile-label">Escalated pickups' in page

    client.force_login(associate)
    assert "Escalated pickups" not in client.get(reverse("home")).content.decode()


def test_the_queue_issues_the_same_queries_for_2_and_50_warned_jobs(client, store):
    facility, associate, _, product = store
    client.force_login(associate)
    for _ in range(2):
        soon_withdrawn(facility, product)
    with CaptureQueriesContext(connection) as small:
        assert "unless started" in queue(client, facility)
    for _ in range(48):
        soon_withdrawn(facility, product)
    with CaptureQueriesContext(connection) as big:
        assert queue(client, facility).count("unless started") == 50

    assert len(big) == len(small)
