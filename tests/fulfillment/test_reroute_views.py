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


def job_ids_listed(page: str) -> set[int]:
    import re

    return {int(pk) for pk in re.findall(r'data-job="(\d+)"', page)}


def test_the_overdue_and_escalated_tiles_open_exactly_those_jobs(client, store):
    facility, associate, manager, product = store
    past = timezone.now() - timedelta(minutes=5)
    _, escalated = routed_order(facility, [(product, 1)], pickup=True)
    _, overdue_started = routed_order(facility, [(product, 1)])
    _, on_time = routed_order(facility, [(product, 1)])
    PickJob.objects.filter(pk__in=[escalated.pk, overdue_started.pk]).update(due_at=past)
    PickJob.objects.filter(pk=on_time.pk).update(due_at=timezone.now() + timedelta(hours=5))
    pickup_jobs_escalate()
    PickJob.objects.filter(pk=overdue_started.pk).update(status=PickJob.Status.IN_PROGRESS, assigned_to=associate)
    client.force_login(manager)
    home = client.get(reverse("home")).content.decode()
    pick_queue = reverse("fulfillment:pick-queue", args=[facility.code])

    assert f'href="{pick_queue}?only=overdue"' in home and f'href="{pick_queue}?only=escalated"' in home
    overdue = client.get(f"{pick_queue}?only=overdue").content.decode()
    assert job_ids_listed(overdue) == {escalated.pk, overdue_started.pk}
    assert job_ids_listed(client.get(f"{pick_queue}?only=escalated").content.decode()) == {escalated.pk}
    assert 'hx-get="' + pick_queue + '?only=overdue"' in overdue  # the refresh keeps the filter
