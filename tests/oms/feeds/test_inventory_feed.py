"""The inventory feed: each row sets on hand as a count at its time; bad rows and bad files are reported."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from fulfillment.counter import pickup_hand_over
from fulfillment.models import HandoverJob
from oms.feeds import inventory
from oms.models import FeedFile
from stores.models import InventoryAdjustment, StockLevel
from stores.stock import stock_adjust, stock_levels_open
from tests.factories import ProductFactory
from tests.fulfillment.store_world import store_with_people
from tests.fulfillment.test_pickup import ready_pickup
from tests.oms.feeds.feed_world import HEADER, import_text, iso, on_hand

pytestmark = pytest.mark.django_db


def ledger_state():
    return (
        list(StockLevel.objects.order_by("pk").values_list("pk", "on_hand", "reserved", "bin_location",
                                                            "last_counted_at")),
        InventoryAdjustment.objects.count(),
    )


def test_rows_set_on_hand_and_the_report_counts_them(world):
    berlin, chicago, lamp, vase = world
    at = iso(timezone.now() - timedelta(hours=1))
    result = import_text(HEADER + f"BER-01,LAMP-1,7,{at}\nBER-01,VASE-1,10,{at}\nCHI-01,LAMP-1,12,{at}\n")
    feed = result.feed
    assert not result.duplicate
    assert (feed.status, feed.rows_total, feed.rows_applied, feed.rows_unchanged, feed.rows_rejected) == (
        FeedFile.Status.DONE, 3, 2, 1, 0)
    assert (on_hand(berlin, lamp), on_hand(berlin, vase), on_hand(chicago, lamp)) == (7, 10, 12)
    entries = InventoryAdjustment.objects.filter(reason="COUNT").order_by("on_hand_delta")
    assert [(e.on_hand_delta, e.source) for e in entries] == [(-3, f"feed #{feed.pk} inventory.csv"),
                                                              (2, f"feed #{feed.pk} inventory.csv")]
    assert result.summary() == "applied 2, unchanged 1, stale 0, rejected 0"


def test_header_names_ignore_case_spaces_and_order_and_the_bin_column_sets_the_bin(world):
    berlin, _, lamp, _ = world
    at = iso(timezone.now() - timedelta(hours=1))
    result = import_text(f"\ufeff SKU , Counted_At,Facility ,ON_HAND, Bin\nLAMP-1,{at},BER-01,4,A-07\n")
    assert result.feed.rows_applied == 1
    level = StockLevel.objects.get(facility=berlin, product=lamp)
    assert (level.on_hand, level.bin_location) == (4, "A-07")


def test_a_new_product_at_a_facility_gets_its_stock_level(world):
    berlin, *_ = world
    lamp2 = ProductFactory(sku="LAMP-2")
    import_text(HEADER + f"BER-01,LAMP-2,3,{iso(timezone.now())}\n")
    assert on_hand(berlin, lamp2) == 3


def test_each_bad_row_is_rejected_with_its_line_and_reason_and_the_good_rows_apply(world):
    berlin, _, lamp, vase = world
    now = timezone.now()
    at = iso(now - timedelta(hours=1))
    rows = [
        f"BER-01,LAMP-1,7,{at}",  # line 2: fine
        f"BER-01,LAMP-1,7,{at},extra",  # 3
        f"XXX-99,LAMP-1,7,{at}",  # 4
        f"BER-01,NOPE-1,7,{at}",  # 5
        f"BER-01,VASE-1,-1,{at}",  # 6
        f"BER-01,VASE-1,2.5,{at}",  # 7
        "BER-01,VASE-1,3,yesterday",  # 8
        "BER-01,VASE-1,3,2025-03-01",  # 9
        f"BER-01,VASE-1,3,{iso(now + timedelta(hours=2))}",  # 10
        "",  # 11: blank lines are skipped
        f"CHI-01,VASE-1,4,{at}",  # 12: fine
        "BER-01",  # 13
    ]
    result = import_text(HEADER + "\n".join(rows) + "\n", now=now)
    feed = result.feed
    problems = [(p.line, p.reason) for p in feed.problems.all()]
    assert [line for line, _ in problems] == [3, 4, 5, 6, 7, 8, 9, 10, 13]
    reasons = dict(problems)
    assert reasons[3] == "expected 4 columns, found 5"
    assert reasons[4] == "unknown facility 'XXX-99'"
    assert reasons[5] == "unknown SKU 'NOPE-1'"
    assert "on_hand '-1' is not a whole number" in reasons[6] and "'2.5'" in reasons[7]
    assert "not an ISO 8601 date and time" in reasons[8]
    assert "no time of day" in reasons[9]
    assert "in the future" in reasons[10]
    assert reasons[13] == "expected 4 columns, found 1"
    assert feed.problems.get(line=4).raw == f"XXX-99,LAMP-1,7,{at}"
    assert (feed.rows_total, feed.rows_applied, feed.rows_rejected) == (11, 2, 9)
    assert (on_hand(berlin, lamp), on_hand(berlin, vase)) == (7, 10)


def test_a_count_time_without_offset_is_in_the_facilitys_time_zone(world):
    berlin, _, lamp, _ = world
    local = (timezone.now() - timedelta(hours=3)).astimezone(berlin.tz).replace(microsecond=0)
    import_text(HEADER + f"BER-01,LAMP-1,6,{local.replace(tzinfo=None).isoformat()}\n")
    assert StockLevel.objects.get(facility=berlin, product=lamp).last_counted_at == local


@pytest.mark.parametrize(("content", "message"), [
    (b"", "the file is empty; expected a header line with facility, sku, on_hand, counted_at (optional: bin)"),
    (b"\n \n", "the file is empty"),
    (b"facility,sku,quantity,counted_at\nBER-01,LAMP-1,1,2025-01-01T00:00:00Z\n",
     "wrong header 'facility,sku,quantity,counted_at': missing on_hand; unexpected 'quantity'"),
    (b"facility;sku;on_hand;counted_at\n", "(columns must be separated by commas)"),
    (b"facility,sku,sku,on_hand,counted_at\n", "repeated sku"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "the file is binary, not CSV text"),
    ("facility,sku,on_hand,counted_at\nBER-01,LÄMP,1,2025-01-01T00:00:00Z\n".encode("latin-1"),
     "the file is not UTF-8 text (invalid byte at offset 40)"),
    (b'{"facility": "BER-01", "sku": "LAMP-1"}\n', "wrong header"),
    (b'facility,sku,on_hand,counted_at\nBER-01,"LAMP-1,1,2025-01-01T00:00:00Z\n',
     "the file is not CSV (line 2: unexpected end of data)"),
])
def test_a_file_that_cannot_be_read_is_refused_and_changes_nothing(world, content, message):
    before = ledger_state()
    result = import_text(content + (b"\nBER-01,LAMP-1,1,2025-01-01T00:00:00Z\n" if b"\x00" in content else b""))
    feed = result.feed
    assert feed.status == FeedFile.Status.REFUSED and message in feed.error
    assert not feed.problems.exists() and feed.rows_applied == 0
    assert ledger_state() == before
    assert result.summary() == f"refused: {feed.error}"


def test_a_redelivered_file_changes_nothing_and_names_the_first_feed(world):
    berlin, _, lamp, _ = world
    content = HEADER + f"BER-01,LAMP-1,7,{iso(timezone.now() - timedelta(hours=1))}\n"
    first = import_text(content, name="counts-monday.csv")
    with transaction.atomic():
        stock_adjust(facility_id=berlin.pk, product_id=lamp.pk, delta=5, reason="RECEIPT")
    before = ledger_state()

    again = import_text(content, name="counts-monday-resent.csv")

    assert again.duplicate and again.feed.pk == first.feed.pk
    assert again.summary() == f"duplicate of feed #{first.feed.pk}"
    assert ledger_state() == before and on_hand(berlin, lamp) == 12
    assert FeedFile.objects.get().times_received == 2


def test_a_count_older_than_the_newest_applied_is_stale(world):
    berlin, _, lamp, _ = world
    now = timezone.now()
    import_text(HEADER + f"BER-01,LAMP-1,7,{iso(now - timedelta(hours=1))}\n")
    older = import_text(HEADER + f"BER-01,LAMP-1,99,{iso(now - timedelta(hours=2))}\n").feed
    assert (older.rows_stale, older.rows_applied, older.rows_rejected) == (1, 0, 0)
    assert on_hand(berlin, lamp) == 7


def test_the_same_product_twice_in_a_file_the_newer_count_wins(world, settings):
    berlin, _, lamp, _ = world
    settings.FEED_IMPORT_CHUNK = 2  # the later rows fall in another chunk: the same outcome
    now = timezone.now()
    feed = import_text(HEADER + "\n".join([
        f"BER-01,LAMP-1,3,{iso(now - timedelta(hours=1))}",
        f"BER-01,LAMP-1,8,{iso(now - timedelta(hours=2))}",  # older than the count before it
        f"BER-01,LAMP-1,5,{iso(now - timedelta(minutes=30))}",
        f"BER-01,LAMP-1,5,{iso(now - timedelta(minutes=30))}",  # the same count again
    ]) + "\n").feed
    assert (feed.rows_applied, feed.rows_stale) == (2, 2)
    assert on_hand(berlin, lamp) == 5


def test_a_count_taken_before_a_handover_does_not_bring_the_handed_over_units_back(db):
    now = timezone.now()
    facility, associate, _ = store_with_people("CHI-07")
    lamp = ProductFactory(sku="LAMP-9")
    with transaction.atomic():
        stock_levels_open(levels=[(facility.pk, lamp.pk, 10, "L-01")], source="test", now=now - timedelta(days=1))
    pickup = ready_pickup(facility, associate, [(lamp, 2)], now=now - timedelta(hours=3))
    pickup_hand_over(handover_id=pickup.pk, facility_id=facility.pk, actor=associate,
                     version=HandoverJob.objects.get(pk=pickup.pk).version, now=now - timedelta(hours=1))
    assert on_hand(facility, lamp) == 8

    # The shelf was counted two hours ago (10 units, before the customer took 2); the file arrives now.
    feed = import_text(HEADER + f"CHI-07,LAMP-9,10,{iso(now - timedelta(hours=2))}\n").feed

    assert feed.rows_unchanged == 1 and on_hand(facility, lamp) == 8
    # Counted 9 then: one went missing before the handover; the count says so, and the handover still counts.
    import_text(HEADER + f"CHI-07,LAMP-9,9,{iso(now - timedelta(minutes=90))}\n")
    assert on_hand(facility, lamp) == 7


def test_a_count_below_reserved_leaves_reserved_alone_and_the_ledger_reconciles(db, capsys):
    now = timezone.now()
    facility, associate, _ = store_with_people("CHI-08")
    lamp = ProductFactory(sku="LAMP-8")
    with transaction.atomic():
        stock_levels_open(levels=[(facility.pk, lamp.pk, 5, "")], source="test", now=now - timedelta(days=1))
    ready_pickup(facility, associate, [(lamp, 3)], now=now - timedelta(hours=2))

    import_text(HEADER + f"CHI-08,LAMP-8,1,{iso(now - timedelta(hours=1))}\n")

    level = StockLevel.objects.get(facility=facility, product=lamp)
    assert (level.on_hand, level.reserved, level.available, level.shortfall) == (1, 3, 0, 2)
    call_command("check_stock_ledger")
    assert "reconcile" in capsys.readouterr().out


def test_a_crash_leaves_whole_chunks_done_and_the_next_delivery_resumes_after_them(world, settings, monkeypatch):
    berlin, chicago, lamp, vase = world
    settings.FEED_IMPORT_CHUNK = 2
    at = iso(timezone.now() - timedelta(hours=1))
    content = HEADER + f"BER-01,LAMP-1,1,{at}\nBER-01,VASE-1,2,{at}\nCHI-01,LAMP-1,3,{at}\nCHI-01,VASE-1,4,{at}\n"
    real, calls = inventory.stock_set_counts, []

    def crash_on_second_chunk(**kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("worker lost")
        return real(**kwargs)

    monkeypatch.setattr(inventory, "stock_set_counts", crash_on_second_chunk)
    with pytest.raises(RuntimeError):
        import_text(content)
    feed = FeedFile.objects.get()
    assert (feed.status, feed.lines_done, feed.rows_applied) == (FeedFile.Status.IMPORTING, 3, 2)
    assert [on_hand(f, p) for f in (berlin, chicago) for p in (lamp, vase)] == [1, 2, 10, 10]

    monkeypatch.setattr(inventory, "stock_set_counts", real)
    assert import_text(content).duplicate  # the first import may still be running: left alone
    FeedFile.objects.update(heartbeat_at=timezone.now() - timedelta(hours=1))
    result = import_text(content)

    assert not result.duplicate and result.feed.pk == feed.pk
    assert (result.feed.status, result.feed.rows_applied, result.feed.rows_stale) == (FeedFile.Status.DONE, 4, 0)
    assert [on_hand(f, p) for f in (berlin, chicago) for p in (lamp, vase)] == [1, 2, 3, 4]
    assert InventoryAdjustment.objects.filter(reason="COUNT").count() == 4


def test_the_stored_copy_is_archived_under_kind_date_and_hash(world, feeds_dir):
    result = import_text(HEADER + f"BER-01,LAMP-1,7,{iso(timezone.now())}\n", name="../../etc/stock counts.csv")
    feed = result.feed
    assert feed.stored_path == f"archive/inventory/{feed.received_at:%Y-%m-%d}/{feed.sha256}-stock_counts.csv"
    assert (feeds_dir / feed.stored_path).read_text().startswith(HEADER)
    assert feed.name == "../../etc/stock counts.csv"


def test_the_admin_shows_a_feed_with_its_rejected_rows(world, admin_client):
    feed = import_text(HEADER + f"XXX-1,LAMP-1,7,{iso(timezone.now())}\n").feed
    response = admin_client.get(f"/admin/oms/feedfile/{feed.pk}/change/")
    assert response.status_code == 200
    assert b"unknown facility" in response.content
