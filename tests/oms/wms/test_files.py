"""Every WMS import: whole-file refusals change nothing, re-imports change nothing, the command, two imports
at once, the real worker taking the drop folders."""

import functools
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from fulfillment.ledger import stock_ledger_problems
from fulfillment.models import Shipment
from oms.feeds.files import inbox_folder
from oms.models import FeedFile, FulfillmentRequest, OrderLine, OutboxMessage, TransitionLog
from oms.tasks import import_wms_drops
from stores.models import InventoryAdjustment
from tests.conftest import wait_for, worker_idle
from tests.oms.wms.wms_world import (
    ACK,
    ACK_HEADER,
    FULFILLED,
    FULFILLED_HEADER,
    REJECTED,
    REJECTED_HEADER,
    import_text,
    iso,
    level,
    make_world,
    sent_order,
)
from tests.races import race


def snapshot() -> tuple:
    return (list(OrderLine.objects.order_by("pk").values_list("pk", "status", "quantity")),
            list(FulfillmentRequest.objects.values_list("status", flat=True)), Shipment.objects.count(),
            OutboxMessage.objects.count(), InventoryAdjustment.objects.count(), TransitionLog.objects.count())


MALFORMED = [
    (FULFILLED, b"", "the file is empty; expected a header line with order, line_id, facility, shipped_at"),
    (FULFILLED, b"order;line_id;facility\n", "columns must be separated by commas"),
    (ACK, b"order,line,facility\n", "wrong header 'order,line,facility': missing line_id; unexpected 'line'"),
    (REJECTED, "order,line_id,facility,quantity,reason\n#1,{lamp},WH-01,1,défaut\n".encode("latin-1"),
     "the file is not UTF-8 text (invalid byte at offset"),
    (ACK, b"order,line_id,facility\n\"#1,{lamp},WH-01\n", "the file is not CSV"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("kind", "content", "message"), MALFORMED, ids=[
    "empty", "semicolons", "wrong-header", "latin-1", "not-csv"])
def test_a_file_that_cannot_be_read_is_refused_as_a_whole_and_changes_nothing(kind, content, message):
    world = make_world()
    order, (lamp,), _ = sent_order((world.lamp, 1))
    content = content.replace(b"{order}", order.name.encode()).replace(b"{lamp}", str(lamp.pk).encode())
    before = snapshot()

    result = import_text(kind, content)

    assert result.feed.status == "REFUSED" and message in result.feed.error, result.feed.error
    assert snapshot() == before


BAD_ROWS = [
    (FULFILLED, FULFILLED_HEADER + "{order},{lamp},WH-01,{at},two,T-1,ups\n{order},{vase},WH-01,{at},1,T-2,ups\n",
     [(2, "quantity 'two' is not a whole number of 1 or more")]),
    (FULFILLED, FULFILLED_HEADER + "{order},{lamp},WH-01,03/01/2025,1,T-1,ups\n{order},{vase},WH-01,{at},1,T-2,ups\n",
     [(2, "shipped_at '03/01/2025' is not an ISO 8601 date or date and time (e.g. 2025-03-01T18:30:00Z)")]),
    (FULFILLED, FULFILLED_HEADER + "{order},{lamp},WH-01,{tomorrow},1,T-1,ups\n{order},{vase},WH-01,{at},1,T-2,ups\n",
     [(2, "shipped_at '{tomorrow}' is in the future")]),
    (REJECTED, REJECTED_HEADER + "{order},x,WH-01,0,\n{order},{vase},WH-01,1,no stock\n",
     [(2, "reason is empty; line_id 'x' is not a whole number; quantity '0' is not a whole number of 1 or more")]),
    (ACK, ACK_HEADER + "{order},{lamp}\n{order},{vase},WH-01\n", [(2, "expected 3 columns, found 2")]),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("kind", "text", "rejected"), BAD_ROWS, ids=[
    "bad-quantity", "bad-date", "future-date", "bad-row", "columns"])
def test_malformed_rows_are_rejected_with_their_line_and_the_good_rows_apply(kind, text, rejected):
    world = make_world()
    order, (lamp, vase), _ = sent_order((world.lamp, 1), (world.vase, 1))
    values = {"order": order.name, "lamp": lamp.pk, "vase": vase.pk, "at": iso(timezone.now() - timedelta(hours=1)),
              "tomorrow": (timezone.now() + timedelta(days=1)).date().isoformat()}

    result = import_text(kind, text.format(**values))

    feed = result.feed
    assert (feed.status, feed.rows_total, feed.rows_rejected, feed.rows_applied) == ("DONE", 2, 1, 1)
    assert [(p.line, p.reason) for p in feed.problems.order_by("line")] == [
        (line, reason.format(**values)) for line, reason in rejected]
    vase.refresh_from_db()
    if kind == FULFILLED:
        assert vase.status == "FULFILLED"
    elif kind == REJECTED:
        assert (vase.status, vase.queue) == ("QUEUED", "REJECTED")


@pytest.mark.django_db
def test_importing_a_file_again_changes_nothing():
    world = make_world()
    order, (lamp, vase), _ = sent_order((world.lamp, 2), (world.vase, 1))
    at = iso(timezone.now() - timedelta(hours=1))
    files = [(ACK, ACK_HEADER + f"{order.name},{lamp.pk},WH-01\n"),
             (FULFILLED, FULFILLED_HEADER + f"{order.name},{lamp.pk},WH-01,{at},1,T-1,ups\n"),
             (REJECTED, REJECTED_HEADER + f"{order.name},{vase.pk},WH-01,1,no stock\n")]
    first = [import_text(kind, text) for kind, text in files]
    before = snapshot()

    again = [import_text(kind, text) for kind, text in files]

    assert [result.duplicate for result in again] == [True, True, True]
    assert [result.feed.pk for result in again] == [result.feed.pk for result in first]
    assert snapshot() == before
    assert list(FeedFile.objects.values_list("times_received", flat=True)) == [2, 2, 2]


@pytest.mark.django_db
def test_the_command_reports_each_file_and_fails_when_one_is_refused(tmp_path, capsys):
    world = make_world()
    order, (lamp,), _ = sent_order((world.lamp, 1))
    good, bad = tmp_path / "acks.csv", tmp_path / "broken.csv"
    good.write_text(ACK_HEADER + f"{order.name},{lamp.pk},WH-01\n{order.name},{lamp.pk},NOPE\n")
    bad.write_text("order,line\n")

    with pytest.raises(CommandError, match="refused: broken.csv"):
        call_command("import_wms", "acknowledgements", str(good), str(bad))

    out = capsys.readouterr().out.splitlines()
    feed = FeedFile.objects.get(name="acks.csv")
    assert feed.kind == "ACKNOWLEDGEMENTS"
    assert out[:2] == [f"acks.csv: applied 1, unchanged 0, stale 0, rejected 1 (feed #{feed.pk})",
                       "  line 3: unknown facility 'NOPE'"]
    assert out[2].startswith("broken.csv: refused: wrong header 'order,line': missing line_id, facility")
    call_command("import_wms", "acknowledgements", str(good))
    assert capsys.readouterr().out == f"acks.csv: duplicate of feed #{feed.pk} (feed #{feed.pk})\n"


def import_into(results: list, content: str) -> None:
    results.append(import_text(FULFILLED, content))


@pytest.mark.django_db(transaction=True)
def test_two_imports_of_the_same_fulfilled_file_at_once_apply_it_once():
    world = make_world()
    for round_ in range(4):
        order, (lamp, vase), _ = sent_order((world.lamp, 1), (world.vase, 2))
        at = iso(timezone.now() - timedelta(minutes=30))
        content = (FULFILLED_HEADER + f"{order.name},{lamp.pk},WH-01,{at},1,R{round_},ups\n"
                   + f"{order.name},{vase.pk},WH-01,{at},1,R{round_},ups\n")
        results = []

        race([functools.partial(import_into, results, content) for _ in range(2)], refused=LookupError)

        assert sorted(result.duplicate for result in results) == [False, True]
        assert Shipment.objects.filter(order=order).count() == 1
        assert OutboxMessage.objects.filter(order=order, kind="fulfillment").count() == 1
        feed = FeedFile.objects.get(pk=results[0].feed.pk)
        assert (feed.status, feed.rows_applied, feed.times_received) == ("DONE", 2, 2)
    assert level(world.warehouse, world.lamp) == (6, 0)
    assert level(world.warehouse, world.vase) == (6, 4)
    assert stock_ledger_problems() == []


def drop(kind: str, name: str, text: str) -> None:
    inbox = inbox_folder(kind)
    inbox.mkdir(parents=True, exist_ok=True)
    (inbox / name).write_text(text)


@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_the_worker_imports_the_wms_drop_folders(celery_worker, feeds_dir):
    world = make_world()
    order, (lamp, vase), request = sent_order((world.lamp, 1), (world.vase, 1))
    at = iso(timezone.now() - timedelta(hours=1))
    drop(ACK, "acks.csv", ACK_HEADER + f"{order.name},{lamp.pk},WH-01\n")
    drop(FULFILLED, "shipped.csv", FULFILLED_HEADER + f"{order.name},{lamp.pk},WH-01,{at},1,W-1,ups\n"
         + f"{order.name},{vase.pk},NOPE,{at},1,W-1,ups\n")
    drop(FULFILLED, "later.csv.part", FULFILLED_HEADER)

    for _ in range(2):  # twice at once: each file is claimed by one of them
        import_wms_drops.delay()

    wait_for(lambda: FeedFile.objects.filter(status="DONE").count() == 2, message="both files imported")
    wait_for(worker_idle, message="worker idle")
    shipped = FeedFile.objects.get(kind="FULFILLED")
    assert (shipped.name, shipped.source, shipped.rows_applied, shipped.rows_rejected) == ("shipped.csv", "DROP", 1, 1)
    assert shipped.problems.get().line == 3
    request.refresh_from_db()
    assert request.status == "ACKNOWLEDGED"
    assert OrderLine.objects.get(pk=lamp.pk).status == "FULFILLED"
    assert FeedFile.objects.count() == 2
    assert [p.name for p in inbox_folder(FULFILLED).rglob("*") if p.is_file()] == ["later.csv.part"]
    assert not any(p.is_file() for p in inbox_folder(ACK).rglob("*"))
