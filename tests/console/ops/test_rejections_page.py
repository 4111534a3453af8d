"""The stores' rejections report in the console: in its navigation, every store or one chosen, CSV, bad periods."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from oms.models import LineRejection
from tests.factories import FacilityFactory, OrderLineFactory, ProductFactory
from tests.fulfillment.test_rejection_report import world  # noqa: F401 - the fixture: two stores' rejections

pytestmark = pytest.mark.django_db
URL = "/console/rejections/"


def test_the_console_navigation_leads_to_the_rejections_report(ops_client):
    page = ops_client.get(reverse("console:dashboard")).content.decode()
    assert f'href="{URL}"' in page and ">Rejections</a>" in page


def test_operations_see_every_stores_rejections(ops_client, world):  # noqa: F811
    page = ops_client.get(URL, {"start": world["start"], "end": world["end"]}).content.decode()
    assert "every store" in page
    assert 'data-store="CHI-01"' in page and 'data-store="NYC-02"' in page


def test_operations_choose_one_store_and_download_its_csv(ops_client, world):  # noqa: F811
    period = {"start": world["start"], "end": world["end"]}
    page = ops_client.get(URL, {"facility": "CHI-01", **period}).content.decode()
    assert 'data-store="CHI-01"' in page and 'data-store="NYC-02"' not in page
    assert "facility=CHI-01" in page  # the CSV link keeps the choice
    response = ops_client.get(URL, {"facility": "CHI-01", **period, "format": "csv"})
    assert response["Content-Type"].startswith("text/csv") and "rejections-CHI-01-" in response["Content-Disposition"]
    assert "SHIRT" in response.content.decode() and "HAT" not in response.content.decode()


@pytest.mark.parametrize("query", [{"start": "2026-02-31"}, {"start": "2026-12-08", "end": "2026-12-01"},
                                   {"facility": "NO-SUCH"}])
def test_a_bad_period_or_store_is_a_400_with_the_reason(ops_client, query):
    response = ops_client.get(URL, query)
    assert response.status_code == 400
    assert 'class="field-error"' in response.content.decode() or "must start before" in response.content.decode()


def test_the_page_costs_the_same_queries_for_2_and_50_rejections(ops_client):
    store, product = FacilityFactory(code="QRY-01"), ProductFactory(sku="QRY")
    counts = []
    for count in (2, 50):
        LineRejection.objects.all().delete()
        for _ in range(count):
            line = OrderLineFactory(product=product, quantity=1)
            LineRejection.objects.create(order=line.order, order_line=line, facility=store, product=product,
                                         reason_text="Damaged", quantity=1, created_at=timezone.now())
        with CaptureQueriesContext(connection) as queries:
            page = ops_client.get(URL).content.decode()
        counts.append(len(queries))
        assert f"{count} units rejected" in page
    assert counts[0] == counts[1]
