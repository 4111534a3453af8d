"""Login and the home page per role, with real counts from the database."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from fulfillment.models import HandoverJob, PickJob
from fulfillment.reroute import pickup_jobs_escalate
from oms.models import FulfillmentRequest
from stores.models import StoreMembership
from tests.factories import (
    FacilityFactory,
    MembershipFactory,
    OrderFactory,
    OrderLineFactory,
    ProductFactory,
    UserFactory,
)
from tests.fulfillment.store_world import routed_order, stock, store_with_people

pytestmark = pytest.mark.django_db


def test_login_page_shows_a_form(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert b'name="username"' in response.content and b'name="password"' in response.content


def test_home_requires_login(client):
    response = client.get(reverse("home"))
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_wrong_password_shows_an_error(client):
    UserFactory(username="amy")
    response = client.post(reverse("login"), {"username": "amy", "password": "nope"})
    assert response.status_code == 200 and b'role="alert"' in response.content


def test_operations_home_counts_lines_per_queue_and_held_orders(client, operations_user):
    OrderLineFactory.create_batch(3, status="QUEUED", queue="BROKERING")
    OrderLineFactory(status="QUEUED", queue="UNFILLABLE")
    OrderFactory(name="#HELD1", approval_blockers=[{"code": "HOLD_TAG", "message": "Order is tagged HOLD"}])
    client.force_login(operations_user)
    response = client.get(reverse("home"))
    overview = response.context["overview"]
    queues = {queue: count for queue, _, count in overview.lines_per_queue}
    assert queues["BROKERING"] == 3 and queues["UNFILLABLE"] == 1 and queues["REJECTED"] == 0
    assert overview.held_count == 1
    assert b"Order is tagged HOLD" in response.content


def make_pick_job(facility, *, due_at, status="OPEN"):
    order = OrderFactory()
    request = FulfillmentRequest.objects.create(order=order, facility=facility, number=f"{order.name}-1",
                                                created_at=timezone.now())
    return PickJob.objects.create(facility=facility, order=order, fulfillment_request=request, due_at=due_at,
                                  created_at=timezone.now(), status=status)


def test_store_home_counts_only_its_own_facility(client):
    now = timezone.now()
    mine, other = FacilityFactory(), FacilityFactory()
    membership = MembershipFactory(facility=mine, role=StoreMembership.Role.ASSOCIATE)
    make_pick_job(mine, due_at=now + timezone.timedelta(hours=2))
    make_pick_job(mine, due_at=now - timezone.timedelta(hours=1))
    make_pick_job(other, due_at=now)
    HandoverJob.objects.create(facility=mine, order=OrderFactory(), channel="CUSTOMER", created_at=now)
    client.force_login(membership.user)
    overview = client.get(reverse("home")).context["overview"]
    assert (overview.open_pick_jobs, overview.overdue_pick_jobs, overview.ready_for_customer) == (2, 1, 1)


def test_user_of_two_stores_chooses_one_and_it_is_remembered(client):
    user = UserFactory()
    first, second = FacilityFactory(name="Alpha"), FacilityFactory(name="Beta")
    MembershipFactory(user=user, facility=first)
    MembershipFactory(user=user, facility=second, role=StoreMembership.Role.MANAGER)
    client.force_login(user)
    assert "stores/choose_facility.html" in [t.name for t in client.get(reverse("home")).templates]
    client.post(reverse("choose-facility"), {"facility": second.pk})
    response = client.get(reverse("home"))
    assert response.context["facility"] == second


def test_choosing_a_store_you_do_not_belong_to_is_404(client):
    user = UserFactory()
    MembershipFactory(user=user)
    stranger_store = FacilityFactory()
    client.force_login(user)
    assert client.post(reverse("choose-facility"), {"facility": stranger_store.pk}).status_code == 404


def test_user_without_store_or_group_is_told_what_to_do(client):
    client.force_login(UserFactory())
    response = client.get(reverse("home"))
    assert response.status_code == 403 and b"Ask operations" in response.content


def test_store_home_shows_local_time_of_the_store(client):
    membership = MembershipFactory(facility=FacilityFactory(time_zone="Asia/Tokyo"))
    client.force_login(membership.user)
    before = timezone.localtime(timezone.now(), membership.facility.tz)
    content = client.get(reverse("home")).content
    after = timezone.localtime(timezone.now(), membership.facility.tz)
    # The page may be rendered on either side of a minute boundary.
    assert any(t.strftime("%H:%M").encode() in content for t in (before, after))
    assert timezone.now().strftime("%H:%M").encode() not in content, "shown in UTC, not in Tokyo time"


def test_held_order_shows_each_reason_once(client, operations_user):
    problem = {"code": "UNKNOWN_SKU", "message": "SKU X-1 is not a known product."}
    OrderFactory(problems=[problem], approval_blockers=[problem])
    client.force_login(operations_user)
    assert client.get(reverse("home")).content.count(b"SKU X-1 is not a known product.") == 1


def test_operations_home_lists_escalated_pickups(client, operations_user):
    facility, _, _ = store_with_people("CHI-05")
    toy = ProductFactory()
    stock(facility, toy, 2)
    order, job = routed_order(facility, [(toy, 1)], pickup=True)
    PickJob.objects.filter(pk=job.pk).update(due_at=timezone.now() - timedelta(hours=1))
    pickup_jobs_escalate()
    client.force_login(operations_user)

    page = client.get("/").content.decode()

    assert 'id="escalated-pickups"' in page and order.name in page and "CHI-05" in page
