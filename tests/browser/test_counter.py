"""An associate at the counter on a tablet: a customer shows their pickup code, refuses one of two items,
the other is handed over with proof of pickup; then the refused item is put back on the shelf."""

import os

import pytest

from fulfillment.ledger import stock_ledger_problems
from fulfillment.models import HandoverJob, PutBackTask
from oms.models import Order
from stores.models import Facility, StockLevel
from tests.browser.conftest import ARTIFACTS, TABLET_LANDSCAPE, login
from tests.factories import ProductFactory
from tests.fulfillment.counter_world import ready_pickup, stock, store_with_people

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def shot(page, name):
    os.makedirs(ARTIFACTS, exist_ok=True)
    page.screenshot(path=os.path.join(ARTIFACTS, f"{name}.png"), full_page=True)


def levels(facility, product) -> tuple[int, int]:
    return StockLevel.objects.values_list("on_hand", "reserved").get(facility=facility, product=product)


def test_associate_hands_over_a_pickup_with_one_refused_item_then_puts_it_back(tablet_page, live_server):
    page = tablet_page
    page.on("dialog", lambda dialog: dialog.accept())  # the confirmation of "Put back done"
    facility, associate, _ = store_with_people("CHI-01")
    Facility.objects.filter(pk=facility.pk).update(pickup_proof_required=True)
    shirt = ProductFactory(name="Oxford shirt")
    mug = ProductFactory(name="Enamel mug")
    stock(facility, shirt, 6, "A-01-03")
    stock(facility, mug, 6, "B-02-01")
    pickup = ready_pickup(facility, associate, [(shirt, 2), (mug, 1)], code="K7QP2M",
                          customer_name="Grace Hopper", email="grace@example.com", phone="+1 312 555 0199")
    other = ready_pickup(facility, associate, [(shirt, 1)], customer_name="Alan Turing")
    HandoverJob.objects.filter(pk=pickup.pk).update(shelf="P-07")
    code = HandoverJob.objects.values_list("pickup_code", flat=True).get(pk=pickup.pk)

    login(page, live_server, associate.username)
    page.wait_for_selector("text=Ready for customer pickup")
    page.click("text=Ready for customer pickup")
    page.wait_for_selector("#pickup-search")
    assert page.locator(".pickup-card").count() == 2
    assert page.evaluate("document.activeElement.id") == "pickup-search"
    shot(page, "counter")

    # A wrong code is refused where the associate looks, and the field is ready for the next scan.
    page.fill("#pickup-search", "ZZZZ99")
    page.press("#pickup-search", "Enter")
    alert = page.wait_for_selector("#store-message [role=alert]")
    assert "No pickup has the code ZZZZ99" in alert.inner_text()
    page.wait_for_timeout(500)  # the search-as-you-type delay passes without wiping the message
    assert page.locator("#store-message [role=alert]").count() == 1
    assert page.input_value("#pickup-search") == ""

    # Searching by name narrows the list as the associate types.
    page.fill("#pickup-search", "turing")
    page.wait_for_selector(f"#counter-results[data-count='1'] >> text={other.order.name}")

    # The customer's QR code types the pickup code and Enter: the pickup opens.
    page.fill("#pickup-search", code.lower())
    page.press("#pickup-search", "Enter")
    page.wait_for_selector("#pickup")
    assert "Grace Hopper" in page.inner_text(".customer") and "P-07" in page.inner_text(".pickup-shelf")
    assert page.locator(".pickup-item").count() == 2

    # The customer refuses the mug: a reason is required.
    mug_row = page.locator(f"tr.pickup-item[data-sku='{mug.sku}']")
    mug_row.locator("input[name=refuse]").check()
    page.fill("input[name=collected_by]", "Grace Hopper")
    page.fill("input[name=collected_id_last4]", "x7q2")
    page.click("button:has-text('Hand over')")  # the browser asks for the reason first
    assert mug_row.locator("input.refuse-reason").evaluate("field => field.validity.valueMissing")
    assert HandoverJob.objects.get(pk=pickup.pk).status == HandoverJob.Status.OPEN
    mug_row.locator("input.refuse-reason").fill("Chipped rim")
    shot(page, "pickup")
    page.click("button:has-text('Hand over')")
    page.wait_for_selector("#pickup[data-status='HANDED_OVER']")
    note = page.inner_text("#pickup [role=status]")
    assert "Handed over order" in note and "1 refused item" in note
    assert "Refused: Chipped rim" in page.inner_text("#pickup")
    shot(page, "pickup-done")

    order = Order.objects.get(pk=pickup.order_id)
    handover = HandoverJob.objects.get(pk=pickup.pk)
    assert order.status == Order.Status.COMPLETED
    assert (handover.collected_by, handover.collected_relation, handover.collected_id_last4) == (
        "Grace Hopper", "SELF", "X7Q2")
    assert levels(facility, shirt) == (4, 1)  # two shirts left; the other order's shirt is still reserved
    assert levels(facility, mug) == (6, 1)  # the refused mug: on hand and reserved until put back

    # Put back, at the other tablet orientation.
    page.set_viewport_size(TABLET_LANDSCAPE)
    page.click("a:has-text('Put back refused items')")
    page.wait_for_selector(f".put-back-task >> text={order.name}")
    assert "B-02-01" in page.inner_text(".put-back-items")
    shot(page, "put-back")
    page.click("button:has-text('Put back done')")
    page.wait_for_selector("#put-back-area[data-open='0']")
    shot(page, "put-back-done")

    assert PutBackTask.objects.get(order=order).status == PutBackTask.Status.DONE
    assert levels(facility, mug) == (6, 0)
    assert stock_ledger_problems() == []
