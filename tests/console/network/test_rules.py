"""Routing rules: the list, the editor's validation, the "what would change" preview (which writes nothing), saving."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from fulfillment.models import PickJob
from oms.models import (
    BrokeringRun,
    FulfillmentRequest,
    OrderLine,
    OrderNote,
    RoutingDecision,
    RoutingRule,
    TransitionLog,
)
from oms.routing.load import rules_ensure_defaults
from oms.routing.whatif import rule_whatif
from stores.models import Facility, InventoryAdjustment, StockLevel
from tests.console.network.helpers import queued, stock
from tests.factories import FacilityFactory, ProductFactory

pytestmark = pytest.mark.django_db

NEW_YORK = (40.7128, -74.0060)


def form_data(rule: RoutingRule, **changes) -> dict:
    data = {
        "name": rule.name, "position": rule.position, "queues": rule.queues, "delivery": rule.delivery,
        "kinds": rule.kinds, "channels": ", ".join(rule.channels), "min_priority": rule.min_priority or "",
        "sort_by": rule.sort_by, "fences": rule.fences, "weight_stock": rule.weight_stock,
        "weight_distance": rule.weight_distance, "weight_workload": rule.weight_workload,
        "weight_priority": rule.weight_priority, "weight_kind": rule.weight_kind, "prefer": rule.prefer,
        "max_facilities": rule.max_facilities, "unfilled_action": rule.unfilled_action,
        "auto_cancel_days": rule.auto_cancel_days, "action": "preview",
    }
    if rule.is_active:
        data["is_active"] = "on"
    data.update(changes)
    return data


@pytest.fixture
def near_store_far_warehouse():
    """A Chicago order whose product a store nearby and a warehouse in New York both have."""
    product = ProductFactory()
    near = FacilityFactory(code="CHI-01", name="Chicago Loop")
    far = FacilityFactory(code="NYC-WH", name="New York warehouse", kind=Facility.Kind.WAREHOUSE,
                          latitude=NEW_YORK[0], longitude=NEW_YORK[1], time_zone="America/New_York")
    stock(near, product, 5)
    stock(far, product, 5)
    line = queued(product=product, quantity=2)
    return near, far, line


def world_rows() -> dict:
    return {
        "lines": list(OrderLine.objects.values_list("pk", "status", "queue", "allocated_facility_id")),
        "stock": list(StockLevel.objects.order_by("pk").values_list("pk", "on_hand", "reserved")),
        "rules": list(RoutingRule.objects.order_by("pk").values()),
        "counts": [model.objects.count() for model in (BrokeringRun, RoutingDecision, FulfillmentRequest, PickJob,
                                                          InventoryAdjustment, TransitionLog, OrderNote)],
    }


def test_rules_list_shows_position_name_filters_and_policies(ops_client):
    rules_ensure_defaults()

    response = ops_client.get("/console/rules/")

    page = response.content.decode()
    assert [rule.position for rule in response.context["rules"]] == [10, 20, 30]
    assert "Ship split across up to 3" in page and "up to 3 facilities" in page
    assert "Try the next rule" in page and "Pickup only" in page


def test_rules_list_without_rules_shows_the_defaults_a_run_creates(ops_client):
    page = ops_client.get("/console/rules/").content.decode()

    assert "No rules saved yet" in page and "Ship whole from one place" in page
    assert not RoutingRule.objects.exists()


def test_rules_list_queries_do_not_grow_with_the_rules(ops_client):
    counts = []
    for count in (2, 50):
        RoutingRule.objects.all().delete()
        RoutingRule.objects.bulk_create([RoutingRule(name=f"rule {n}", position=n + 1) for n in range(count)])
        with CaptureQueriesContext(connection) as queries:
            assert ops_client.get("/console/rules/").status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_the_preview_shows_an_order_that_a_prefer_change_sends_elsewhere(ops_client, near_store_far_warehouse):
    near, far, line = near_store_far_warehouse
    rules_ensure_defaults()
    ship_whole = RoutingRule.objects.get(position=20)

    response = ops_client.post(f"/console/rules/{ship_whole.pk}/",
                               form_data(ship_whole, prefer="WAREHOUSE", weight_kind="5"))

    page = response.content.decode()
    assert response.status_code == 200
    whatif = response.context["whatif"]
    (outcome,) = whatif.orders
    assert (outcome.name, outcome.now, outcome.edited, outcome.changed) == (line.order.name, "CHI-01 × 2",
                                                                            "NYC-WH × 2", True)
    assert "1 of 1 sample order would be routed differently" in page
    assert "CHI-01 × 2" in page and "NYC-WH × 2" in page


def test_the_preview_writes_nothing(ops_client, near_store_far_warehouse):
    rules_ensure_defaults()
    ship_whole = RoutingRule.objects.get(position=20)
    before = world_rows()

    response = ops_client.post(f"/console/rules/{ship_whole.pk}/",
                               form_data(ship_whole, prefer="WAREHOUSE", weight_kind="5", weight_distance="0"))

    assert response.status_code == 200 and response.context["whatif"].changed
    assert world_rows() == before


def test_the_preview_of_a_distance_weight_change_and_of_a_fence(near_store_far_warehouse):
    near, far, line = near_store_far_warehouse
    rules_ensure_defaults()
    rule = RoutingRule.objects.get(position=20)
    rule.weight_distance, rule.weight_priority = 0.0, 1.0
    Facility.objects.filter(pk=far.pk).update(priority=10)

    assert [order.edited for order in rule_whatif(rule=rule).orders] == ["NYC-WH × 2"]

    rule = RoutingRule.objects.get(position=20)
    rule.fences = ["STOCK"]  # no COUNTRY, nothing changes for a US order; the same store stays best
    assert not rule_whatif(rule=rule).changed


def test_the_preview_of_a_new_rule_adds_it_to_the_saved_ones(near_store_far_warehouse):
    rules_ensure_defaults()
    new = RoutingRule(name="Warehouse first", position=5, delivery="SHIP", prefer="WAREHOUSE", weight_kind=10,
                      weight_distance=0)

    (outcome,) = rule_whatif(rule=new).orders

    assert (outcome.now, outcome.edited) == ("CHI-01 × 2", "NYC-WH × 2")
    assert not RoutingRule.objects.filter(name="Warehouse first").exists()


def test_the_preview_over_htmx_answers_the_editor_alone(ops_client, near_store_far_warehouse):
    rules_ensure_defaults()
    ship_whole = RoutingRule.objects.get(position=20)

    response = ops_client.post(f"/console/rules/{ship_whole.pk}/", form_data(ship_whole, prefer="WAREHOUSE",
                               weight_kind="5"), headers={"HX-Request": "true"})

    page = response.content.decode()
    assert page.lstrip().startswith('<div id="rule-editor"') and "<html" not in page
    assert "would be routed differently" in page


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"name": ""}, "name", "This field is required."),
    ({"weight_distance": "-1"}, "weight_distance", "Weights cannot be negative."),
    ({"weight_stock": "much"}, "weight_stock", "Enter a number."),
    ({"queues": ["NOWHERE"]}, "queues", "Select a valid choice."),
    ({"fences": ["MOAT"]}, "fences", "Select a valid choice."),
    ({"max_facilities": "0"}, "max_facilities", "Give 1 or more"),
    ({"position": "10"}, "position", "Routing rule with this Position already exists."),
])
def test_the_editor_refuses_bad_values_next_to_the_field(ops_client, changes, field, message):
    rules_ensure_defaults()
    rule = RoutingRule.objects.get(position=20)
    before = list(RoutingRule.objects.order_by("pk").values())

    response = ops_client.post(f"/console/rules/{rule.pk}/", form_data(rule, action="save", confirm="on", **changes))

    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors[field])
    assert "see the errors next to the fields" in response.content.decode()
    assert list(RoutingRule.objects.order_by("pk").values()) == before


def test_the_shared_rule_form_refuses_unknown_queue_names():
    from oms.routing.rule_form import RoutingRuleForm

    form = RoutingRuleForm(data={**form_data(RoutingRule(name="x", position=1)), "queues": '["NOWHERE"]',
                                 "kinds": "[]", "fences": "[]", "channels": "[]"})

    assert "Unknown: NOWHERE." in form.errors["queues"][0]


def test_saving_needs_the_confirmation_box(ops_client):
    rules_ensure_defaults()
    rule = RoutingRule.objects.get(position=20)

    response = ops_client.post(f"/console/rules/{rule.pk}/", form_data(rule, action="save", prefer="STORE"))

    assert response.status_code == 400
    assert "Tick the box to save" in response.content.decode()
    assert RoutingRule.objects.get(pk=rule.pk).prefer == "NONE"


def test_saving_a_rule_changes_it_and_says_so(ops_client):
    rules_ensure_defaults()
    rule = RoutingRule.objects.get(position=20)

    response = ops_client.post(f"/console/rules/{rule.pk}/", form_data(
        rule, action="save", confirm="on", prefer="STORE", queues=["BROKERING", "REJECTED"], kinds=["STANDARD"],
        channels="shopify, pos", fences=["STOCK", "COUNTRY"], weight_distance="0.9"), follow=True)

    assert "Saved rule 20. Ship whole from one place" in response.content.decode()
    rule.refresh_from_db()
    assert (rule.prefer, rule.queues, rule.kinds, rule.channels, rule.fences, rule.weight_distance) == (
        "STORE", ["BROKERING", "REJECTED"], ["STANDARD"], ["shopify", "pos"], ["STOCK", "COUNTRY"], 0.9)


def test_creating_a_rule(ops_client):
    response = ops_client.post("/console/rules/new/", form_data(
        RoutingRule(name="Priority orders", position=5, min_priority=5), action="save", confirm="on"), follow=True)

    rule = RoutingRule.objects.get(name="Priority orders")
    assert (rule.position, rule.min_priority, rule.is_active) == (5, 5, True)
    assert response.redirect_chain[-1][0] == f"/console/rules/{rule.pk}/"


def test_an_unknown_rule_is_404(ops_client):
    assert ops_client.get("/console/rules/999999/").status_code == 404


def test_a_saved_edit_is_recorded_with_who_when_and_what_and_shown_on_the_rules_page(ops_client, operations_user):
    rules_ensure_defaults()
    rule = RoutingRule.objects.get(position=20)

    saved = ops_client.post(f"/console/rules/{rule.pk}/", form_data(
        rule, action="save", confirm="on", max_facilities=2, name="Ship from up to two places"), follow=True)

    page = saved.content.decode()
    assert "History" in page and "Changed in the console:" in page
    assert "Max facilities: 1 → 2" in page and f"Name: {rule.name} → Ship from up to two places" in page
    assert "Olga" in page or operations_user.username in page


def test_a_new_rule_is_recorded_as_created_and_a_preview_records_nothing(ops_client):
    rules_ensure_defaults()
    rule = RoutingRule.objects.get(position=20)
    ops_client.post(f"/console/rules/{rule.pk}/", form_data(rule, max_facilities=3))  # a preview
    assert "No edit recorded yet." in ops_client.get(f"/console/rules/{rule.pk}/").content.decode()

    ops_client.post("/console/rules/new/", form_data(rule, action="save", confirm="on", name="Copy", position=99))

    new = RoutingRule.objects.get(position=99)
    assert "Created in the console: Name: Copy" in ops_client.get(f"/console/rules/{new.pk}/").content.decode()
