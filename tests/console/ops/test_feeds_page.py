"""The console's feeds page: the files and their reports, a file's rejected rows, uploading an inventory file."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from oms.console.ops import forms
from oms.models import FeedFile, FeedProblem
from stores.models import StockLevel
from stores.stock import stock_levels_open
from tests.factories import FacilityFactory, ProductFactory
from tests.oms.feeds.feed_world import HEADER, import_text, iso

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def feeds_dir(settings, tmp_path):
    settings.FEEDS_DIR = tmp_path / "feeds"


@pytest.fixture
def lamp_at_berlin():
    berlin = FacilityFactory(code="BER-01", time_zone="Europe/Berlin")
    lamp = ProductFactory(sku="LAMP-1")
    with transaction.atomic():
        stock_levels_open(levels=[(berlin.pk, lamp.pk, 10, "")], source="test",
                          now=timezone.now() - timedelta(days=2))
    return StockLevel.objects.get(facility=berlin, product=lamp)


def upload(client, content: bytes, name="counts.csv"):
    return client.post("/console/feeds/upload/", {"file": SimpleUploadedFile(name, content, "text/csv")}, follow=True)


def test_uploading_a_valid_file_applies_it_and_shows_its_report(ops_client, lamp_at_berlin):
    counted = iso(timezone.now() - timedelta(hours=1))
    content = f"{HEADER}BER-01,LAMP-1,7,{counted}\nBER-01,NOPE,3,{counted}\n".encode()

    response = upload(ops_client, content)

    feed = FeedFile.objects.get()
    assert response.redirect_chain[-1][0] == f"/console/feeds/{feed.pk}/"
    page = response.content.decode()
    assert "applied 1, unchanged 0, stale 0, rejected 1" in page
    assert "unknown SKU &#x27;NOPE&#x27;" in page and "BER-01,NOPE,3" in page
    lamp_at_berlin.refresh_from_db()
    assert lamp_at_berlin.on_hand == 7
    assert (feed.source, feed.actor.username) == (FeedFile.Source.UPLOAD, "ops")


def test_uploading_the_same_file_again_changes_nothing_and_says_so(ops_client, lamp_at_berlin):
    content = f"{HEADER}BER-01,LAMP-1,7,{iso(timezone.now() - timedelta(hours=1))}\n".encode()
    upload(ops_client, content)
    response = upload(ops_client, content, name="again.csv")
    assert "already received as feed" in response.content.decode()
    assert FeedFile.objects.get().times_received == 2


def test_uploading_a_malformed_file_is_refused_and_changes_nothing(ops_client, lamp_at_berlin):
    response = ops_client.post("/console/feeds/upload/", {
        "file": SimpleUploadedFile("broken.csv", b"facility,sku,quantity,counted_at\nBER-01,LAMP-1,1,x\n")})

    assert response.status_code == 400
    page = response.content.decode()
    assert "Refused, nothing changed: wrong header" in page and 'id="file-error"' in page
    lamp_at_berlin.refresh_from_db()
    assert lamp_at_berlin.on_hand == 10
    assert FeedFile.objects.get().status == FeedFile.Status.REFUSED


def test_upload_without_a_file_or_with_an_empty_one_is_a_field_error(ops_client):
    missing = ops_client.post("/console/feeds/upload/", {})
    assert missing.status_code == 400 and "This field is required." in missing.content.decode()
    empty = ops_client.post("/console/feeds/upload/", {"file": SimpleUploadedFile("empty.csv", b"")})
    assert empty.status_code == 400 and "The submitted file is empty." in empty.content.decode()
    assert not FeedFile.objects.exists()


def test_upload_of_a_file_too_big_is_refused(ops_client, monkeypatch):
    monkeypatch.setattr(forms, "MAX_UPLOAD_BYTES", 10)
    response = ops_client.post("/console/feeds/upload/", {"file": SimpleUploadedFile("big.csv", HEADER.encode())})
    assert response.status_code == 400 and "are accepted here" in response.content.decode()
    assert not FeedFile.objects.exists()


def feed_with_problems(count: int) -> FeedFile:
    feed = import_text(HEADER + "".join(f"NOPE-{i},X,1,2025-01-01T10:00:00Z\n" for i in range(count))).feed
    assert FeedProblem.objects.filter(feed=feed).count() == count
    return feed


def test_a_files_rejected_rows_are_paged(ops_client):
    feed = feed_with_problems(130)
    first = ops_client.get(f"/console/feeds/{feed.pk}/").content.decode()
    assert "130 rejected rows" in first and "Page 1 of 2" in first and "NOPE-0," in first
    assert "NOPE-120," not in first
    second = ops_client.get(f"/console/feeds/{feed.pk}/?page=2").content.decode()
    assert "NOPE-120," in second and "NOPE-0," not in second


def queries(client, path) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(path).status_code == 200
    return len(captured)


def test_feed_pages_keep_their_queries_as_files_and_problems_grow(ops_client):
    few_files = [import_text(f"{HEADER}X,Y,{n},2025-01-01T10:00:00Z\n", name=f"f{n}.csv") for n in range(2)]
    list_few = queries(ops_client, "/console/feeds/")
    for n in range(2, 50):
        import_text(f"{HEADER}X,Y,{n},2025-01-01T10:00:00Z\n", name=f"f{n}.csv")
    assert queries(ops_client, "/console/feeds/") == list_few

    small, large = few_files[0].feed, feed_with_problems(50)
    assert queries(ops_client, f"/console/feeds/{small.pk}/") == queries(ops_client, f"/console/feeds/{large.pk}/")


def test_feeds_list_shows_reports_and_redeliveries(ops_client):
    data = f"{HEADER}X,Y,1,2025-01-01T10:00:00Z\n"
    import_text(data)
    import_text(data)
    import_text(b"sku\n", name="bad.csv")
    page = ops_client.get("/console/feeds/").content.decode()
    assert "received 2 times" in page and "Refused" in page and "bad.csv" in page
