"""CSV files a person may open in a spreadsheet never carry a formula from outside data."""

import csv
import io

import pytest

from oms.core.csv_cells import csv_cell_safe


@pytest.mark.parametrize("text, written", [
    ("=HYPERLINK(\"http://evil\",\"click\")", "'=HYPERLINK(\"http://evil\",\"click\")"),
    ("+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"),
    ("-2+3", "'-2+3"),
    ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
    ("\t=1", "'\t=1"),
    ("-3", "-3"),
    ("+1.5", "+1.5"),
    ("Ada Lovelace", "Ada Lovelace"),
    ("", ""),
    (None, ""),
    (7, "7"),
])
def test_a_formula_is_written_as_text_and_numbers_stay_numbers(text, written):
    assert csv_cell_safe(text) == written


@pytest.mark.django_db(transaction=True)
def test_the_erp_orders_export_defuses_a_customer_name(tmp_path, settings):
    from oms.feeds.exports import erp_feeds_export, feed_export_path
    from oms.models import FeedExport
    from tests.oms.erp.erp_world import imported_order

    settings.FEEDS_DIR = tmp_path
    imported_order(customer={"first_name": "=cmd|' /C calc'!A0", "last_name": ""})
    erp_feeds_export()
    export = FeedExport.objects.get(kind=FeedExport.Kind.ORDERS)
    rows = list(csv.DictReader(io.StringIO(feed_export_path(export).read_text(encoding="utf-8"))))
    assert rows and all(row["customer_name"].startswith("'=") for row in rows)
    assert all(not row["quantity"].startswith("'") for row in rows)


def test_the_rejections_report_defuses_a_product_name():
    from fulfillment.reports import ItemRow, RejectionsReport, rejections_report_csv

    report = RejectionsReport(start=None, end=None, facility=None,
                              items=[ItemRow(sku="MUG-1", name="=1+1", units=2, rejections=1)])
    rows = list(csv.reader(io.StringIO(rejections_report_csv(report))))
    assert rows[1][:4] == ["item", "MUG-1", "'=1+1", "2"]
