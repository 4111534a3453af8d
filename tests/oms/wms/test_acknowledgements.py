"""Acknowledgement import: PROCESSED requests become ACKNOWLEDGED; other rows rejected with their line."""

import pytest

from oms.core.history import transit_and_save
from oms.models import TransitionLog
from tests.factories import FacilityFactory
from tests.oms.wms.wms_world import ACK, ACK_HEADER, import_text, make_world, problems, sent_order

pytestmark = pytest.mark.django_db


def test_acknowledgement_moves_the_processed_request_to_acknowledged():
    world = make_world()
    order, (lamp, vase), request = sent_order((world.lamp, 1), (world.vase, 2))

    result = import_text(ACK, ACK_HEADER + f"{order.name},{lamp.pk},WH-01\n{order.name},{vase.pk},WH-01\n")

    request.refresh_from_db()
    assert request.status == "ACKNOWLEDGED"
    feed = result.feed
    assert (feed.status, feed.rows_applied, feed.rows_unchanged, feed.rows_rejected) == ("DONE", 1, 1, 0)
    entry = TransitionLog.objects.get(object_type="fulfillmentrequest", transition="acknowledge")
    assert entry.reason == f"acknowledged by warehouse WH-01 (feed #{feed.pk} wms.csv)"


def test_acknowledgement_accepts_the_request_number_and_checks_it():
    world = make_world()
    order, (lamp,), request = sent_order((world.lamp, 1))

    result = import_text(ACK, "order,line_id,facility,request\n"
                              f"{order.name},{lamp.pk},WH-01,{order.name}-9\n"
                              f"{order.name},{lamp.pk},WH-01,{request.number}\n")

    assert problems(result.feed) == [(2, f"line {lamp.pk} is on request {request.number}, not {order.name}-9")]
    request.refresh_from_db()
    assert request.status == "ACKNOWLEDGED"


def test_acknowledgement_rows_that_do_not_apply_are_rejected_with_their_line():
    world = make_world()
    FacilityFactory(code="ST-09")
    order, (lamp,), request = sent_order((world.lamp, 1))
    other, (unsent,), unsent_request = sent_order((world.vase, 1))
    transit_and_save(unsent_request, "cancel", at=unsent_request.created_at)

    result = import_text(ACK, ACK_HEADER + "\n".join([
        f"{order.name},{lamp.pk},NOPE-1",      # line 2: unknown facility
        f"{order.name},{lamp.pk},ST-09",       # line 3: not a WMS facility
        f"#NOPE,{lamp.pk},WH-01",              # line 4: unknown order
        f"{order.name},{unsent.pk},WH-01",     # line 5: a line of another order
        f"{other.name},{unsent.pk},WH-01",     # line 6: its request is canceled
        f"{order.name},{lamp.pk},WH-01",       # line 7: applies
    ]) + "\n")

    assert problems(result.feed) == [
        (2, "unknown facility 'NOPE-1'"),
        (3, "facility ST-09 is not fulfilled by a WMS"),
        (4, "unknown order '#NOPE'"),
        (5, f"order '{order.name}' has no line {unsent.pk}"),
        (6, f"request {unsent_request.number} is CANCELED: only a PROCESSED request can be acknowledged"),
    ]
    assert (result.feed.rows_applied, result.feed.rows_rejected) == (1, 5)
    request.refresh_from_db()
    assert request.status == "ACKNOWLEDGED"


def test_a_line_allocated_to_another_facility_is_the_wrong_facility():
    world = make_world()
    FacilityFactory(code="WH-02", kind="WAREHOUSE", fulfilled_by_wms=True)
    order, (lamp,), request = sent_order((world.lamp, 1))

    result = import_text(ACK, ACK_HEADER + f"{order.name},{lamp.pk},WH-02\n")

    assert problems(result.feed) == [(2, f"line {lamp.pk} is allocated to another facility, not WH-02")]
    request.refresh_from_db()
    assert request.status == "PROCESSED"
