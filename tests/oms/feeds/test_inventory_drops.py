"""The drop folder and the command: files claimed once, re-claimed when their worker died, reported per file."""

import functools
import threading
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from oms.feeds.files import feed_drops_claim, inbox_folder
from oms.feeds.inventory import inventory_drops_import
from oms.models import FeedFile
from oms.tasks import import_inventory_drops
from stores.models import InventoryAdjustment
from tests.conftest import wait_for, worker_idle
from tests.oms.feeds.feed_world import HEADER, import_text, iso, on_hand
from tests.races import race

KIND = FeedFile.Kind.INVENTORY


def drop(name: str, text: str):
    inbox = inbox_folder(KIND)
    inbox.mkdir(parents=True, exist_ok=True)
    (inbox / name).write_text(text)
    return inbox / name


def test_only_finished_files_are_claimed_and_each_once(feeds_dir):
    for name in ("counts.csv", ".counts-2.csv", "counts-3.csv.part", "counts-4.tmp"):
        drop(name, HEADER)
    now = timezone.now()
    claimed = feed_drops_claim(kind=KIND, now=now)
    assert [name for _, name in claimed] == ["counts.csv"]
    assert claimed[0][0].parent.name == ".processing"
    assert feed_drops_claim(kind=KIND, now=now) == []
    assert sorted(p.name for p in inbox_folder(KIND).iterdir() if p.is_file()) == [
        ".counts-2.csv", "counts-3.csv.part", "counts-4.tmp"]


def test_a_file_whose_worker_died_is_claimed_again_after_a_while(feeds_dir):
    drop("counts.csv", HEADER)
    now = timezone.now()
    [(first, _)] = feed_drops_claim(kind=KIND, now=now)
    assert feed_drops_claim(kind=KIND, now=now + timedelta(minutes=5)) == []
    [(again, name)] = feed_drops_claim(kind=KIND, now=now + timedelta(minutes=20))
    assert name == "counts.csv" and again != first and not first.exists() and again.exists()


def test_two_claims_at_once_take_each_file_once(feeds_dir):
    for n in range(30):
        drop(f"counts-{n:02d}.csv", HEADER)
    now, taken, lock = timezone.now(), [], threading.Lock()

    def claim():
        names = [name for _, name in feed_drops_claim(kind=KIND, now=now)]
        with lock:
            taken.extend(names)

    threads = [threading.Thread(target=claim) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(taken) == [f"counts-{n:02d}.csv" for n in range(30)]


@pytest.mark.django_db
def test_dropped_files_are_imported_and_removed_from_the_inbox(world, feeds_dir):
    berlin, _, lamp, _ = world
    counted_at = iso(timezone.now() - timedelta(hours=1))  # once: the two files must be byte for byte the same
    drop("counts.csv", HEADER + f"BER-01,LAMP-1,4,{counted_at}\n")
    drop("resent.csv", HEADER + f"BER-01,LAMP-1,4,{counted_at}\n")

    results = dict(inventory_drops_import(now=timezone.now()))

    assert results["counts.csv"].feed.source == FeedFile.Source.DROP and not results["counts.csv"].duplicate
    assert results["resent.csv"].duplicate
    assert on_hand(berlin, lamp) == 4 and FeedFile.objects.count() == 1
    assert not any(p.is_file() for p in inbox_folder(KIND).rglob("*"))


@pytest.mark.django_db
def test_the_command_reports_each_file_and_fails_when_one_is_refused(world, tmp_path, capsys):
    at = iso(timezone.now() - timedelta(hours=1))
    good, bad = tmp_path / "inventory.csv", tmp_path / "broken.csv"
    good.write_text(HEADER + f"BER-01,LAMP-1,4,{at}\nBER-01,VASE-1,10,{at}\nBER-01,NOPE,1,{at}\n")
    bad.write_text("sku,qty\n")

    with pytest.raises(CommandError, match="refused: broken.csv"):
        call_command("import_inventory", str(good), str(bad))
    out = capsys.readouterr().out.splitlines()
    feed = FeedFile.objects.get(name="inventory.csv")
    assert out[0] == f"inventory.csv: applied 1, unchanged 1, stale 0, rejected 1 (feed #{feed.pk})"
    assert out[1] == "  line 4: unknown SKU 'NOPE'"
    assert out[2].startswith("broken.csv: refused: wrong header 'sku,qty': missing facility, on_hand, counted_at")

    call_command("import_inventory", str(good))
    assert capsys.readouterr().out == f"inventory.csv: duplicate of feed #{feed.pk} (feed #{feed.pk})\n"


def import_into(results: list, content: str) -> None:
    results.append(import_text(content))


@pytest.mark.django_db(transaction=True)
def test_two_imports_of_the_same_file_at_once_apply_it_once(world):
    berlin, chicago, lamp, vase = world
    for round_ in range(6):
        at = iso(timezone.now() - timedelta(minutes=60 - round_))
        content = HEADER + "".join(f"{f},{p},{round_ % 2 + 3},{at}\n" for f in ("BER-01", "CHI-01")
                                   for p in ("LAMP-1", "VASE-1"))
        results = []
        race([functools.partial(import_into, results, content) for _ in range(2)], refused=LookupError)
        assert sorted(result.duplicate for result in results) == [False, True]
        assert {result.feed.pk for result in results} == {FeedFile.objects.get(sha256=results[0].feed.sha256).pk}
        # Each round's count differs from the last one everywhere: four entries, once.
        source = f"feed #{results[0].feed.pk} inventory.csv"
        assert InventoryAdjustment.objects.filter(reason="COUNT", source=source).count() == 4
        feed = FeedFile.objects.get(pk=results[0].feed.pk)
        assert (feed.status, feed.rows_applied, feed.rows_stale, feed.times_received) == ("DONE", 4, 0, 2)
        assert {on_hand(f, p) for f in (berlin, chicago) for p in (lamp, vase)} == {round_ % 2 + 3}


@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_the_worker_imports_the_drop_folder(world, celery_worker, feeds_dir):
    berlin, chicago, lamp, _ = world
    at = iso(timezone.now() - timedelta(hours=1))
    drop("counts.csv", HEADER + f"BER-01,LAMP-1,4,{at}\nCHI-01,LAMP-1,6,{at}\nBER-01,NOPE,1,{at}\n")
    drop("more.csv.part", HEADER + f"BER-01,LAMP-1,1,{at}\n")

    for _ in range(2):  # twice at once: each file is claimed by one of them
        import_inventory_drops.delay()

    feed = wait_for(lambda: FeedFile.objects.filter(status=FeedFile.Status.DONE).first(), message="feed imported")
    wait_for(worker_idle, message="worker idle")
    assert (feed.name, feed.source, feed.rows_applied, feed.rows_rejected) == ("counts.csv", "DROP", 2, 1)
    assert feed.problems.get().line == 4
    assert (on_hand(berlin, lamp), on_hand(chicago, lamp)) == (4, 6)
    assert FeedFile.objects.count() == 1
    assert [p.name for p in inbox_folder(KIND).rglob("*") if p.is_file()] == ["more.csv.part"]
