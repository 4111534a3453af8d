"""Pick jobs are created set-wise: one per request, one pick line per order line, due by the store's hours."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from fulfillment.jobs import pick_jobs_create
from fulfillment.models import PickJob
from oms.models import FulfillmentRequest
from tests.factories import FacilityFactory, OrderFactory, OrderLineFactory

pytestmark = pytest.mark.django_db

CHICAGO = ZoneInfo("America/Chicago")
NOW = datetime(2025, 3, 3, 17, 0, tzinfo=CHICAGO)  # Monday, an hour before closing


def request_with_lines(facility, *, pickup: bool, count: int) -> tuple[FulfillmentRequest, list]:
    order = OrderFactory()
    fields = {"pickup_store_code": facility.code, "pickup_facility": facility} if pickup else {}
    lines = [OrderLineFactory(order=order, quantity=index + 1, **fields) for index in range(count)]
    request = FulfillmentRequest.objects.create(order=order, facility=facility, number=f"{order.name}-1",
                                                created_at=NOW)
    return request, lines


def test_one_job_per_request_with_one_pick_line_per_order_line():
    store, other = FacilityFactory(), FacilityFactory(time_zone="Europe/Berlin")
    pairs = [request_with_lines(store, pickup=False, count=2), request_with_lines(other, pickup=False, count=3)]

    jobs = pick_jobs_create(requests=pairs, now=NOW)

    assert [job.fulfillment_request_id for job in jobs] == [request.pk for request, _ in pairs]
    for job, (request, lines) in zip(jobs, pairs, strict=True):
        job = PickJob.objects.get(pk=job.pk)
        assert (job.facility_id, job.order_id, job.status, job.created_at) == (
            request.facility_id, request.order_id, PickJob.Status.OPEN, NOW)
        assert sorted(job.lines.values_list("order_line_id", "product_id", "quantity", "status")) == sorted(
            (line.pk, line.product_id, line.quantity, "OPEN") for line in lines)


def test_due_time_is_end_of_day_for_ship_and_service_hours_for_pickup():
    store = FacilityFactory()  # Chicago, 09:00-18:00 Monday to Saturday, pickup ready within 2 opening hours
    ship, pickup = request_with_lines(store, pickup=False, count=1), request_with_lines(store, pickup=True, count=1)

    ship_job, pickup_job = pick_jobs_create(requests=[ship, pickup], now=NOW)

    assert ship_job.due_at == datetime(2025, 3, 3, 18, 0, tzinfo=CHICAGO)
    assert pickup_job.due_at == datetime(2025, 3, 4, 10, 0, tzinfo=CHICAGO)  # 1 h on Monday, 1 h on Tuesday


def test_no_requests_creates_nothing():
    assert pick_jobs_create(requests=[], now=NOW) == []
    assert not PickJob.objects.exists()
