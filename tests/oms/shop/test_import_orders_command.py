"""`import_orders FILE`: Shopify orders from a file, through the same import as the webhooks."""

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from oms.models import Order
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "shopify_order.json"


def shop_order(order_id: int, name: str) -> dict:
    return json.loads(FIXTURE.read_text()) | {"id": order_id, "name": name}


def run(path: Path) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("import_orders", str(path), stdout=out, stderr=err)
    return out.getvalue().strip(), err.getvalue().strip()


@pytest.fixture
def catalog():
    return [ProductFactory(sku="SOCK-TRAIL-M"), ProductFactory(sku="BOTTLE-750-FOREST")]


def test_import_orders_prints_created_duplicate_held_and_errors(tmp_path, catalog):
    held = shop_order(3, "#3")
    held["line_items"][0]["sku"] = "NOT-IN-CATALOG"
    rows = [shop_order(1, "#1"), shop_order(2, "#2"), held, shop_order(1, "#1")]
    path = tmp_path / "orders.json"
    path.write_text(json.dumps(rows))

    out, err = run(path)

    assert out == "created 3, duplicate 1, held 1, errors 0"
    assert err == ""
    assert sorted(Order.objects.values_list("name", flat=True)) == ["#1", "#2", "#3"]
    assert Order.objects.get(name="#3").problems[0]["code"] == "UNKNOWN_SKU"


def test_import_orders_reads_one_order_per_line_and_reports_bad_rows_by_line(tmp_path, catalog):
    no_id = shop_order(2, "#2")
    del no_id["id"]
    lines = [json.dumps(shop_order(1, "#1")), "", "{not json", json.dumps(no_id), "[1, 2]"]
    path = tmp_path / "orders.jsonl"
    path.write_text("\n".join(lines) + "\n")

    out, err = run(path)

    assert out == "created 1, duplicate 0, held 0, errors 3"
    assert err.splitlines()[0].startswith("row 3: not JSON")
    assert err.splitlines()[1:] == ["row 4: the order has no id", "row 5: not a JSON object"]
    assert list(Order.objects.values_list("name", flat=True)) == ["#1"]


def test_import_orders_again_finds_only_duplicates(tmp_path, catalog):
    path = tmp_path / "orders.json"
    path.write_text(json.dumps([shop_order(1, "#1"), shop_order(2, "#2")]))
    run(path)

    out, _ = run(path)

    assert out == "created 0, duplicate 2, held 0, errors 0"
    assert Order.objects.count() == 2


def test_import_orders_accepts_the_single_order_sample_file(catalog):
    out, _ = run(FIXTURE)

    assert out == "created 1, duplicate 0, held 0, errors 0"


def test_import_orders_with_a_missing_file_is_a_command_error(tmp_path, db):
    with pytest.raises(CommandError, match="cannot read"):
        call_command("import_orders", str(tmp_path / "missing.json"))
