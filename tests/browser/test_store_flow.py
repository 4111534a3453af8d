"""An associate on a tablet: pick a two-line job by scanning, pack, print the label, hand over to the carrier;
then short-pick a line of a second job and see the missing unit leave the store while the rest is packed."""

import os
import subprocess
import tempfile

import pytest

from fulfillment.models import Parcel, PickJob
from oms.models import Order, OrderLine
from stores.models import StockLevel
from tests.browser.conftest import ARTIFACTS, login
from tests.factories import ProductFactory
from tests.fulfillment.store_world import routed_order, stock, store_with_people

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def shot(page, name):
    os.makedirs(ARTIFACTS, exist_ok=True)
    page.screenshot(path=os.path.join(ARTIFACTS, f"store-{name}.png"), full_page=True)


def scan(page, field, code):
    page.fill(field, code)
    page.press(field, "Enter")


def pick_job_open(page, live_server, facility, order):
    page.goto(f"{live_server.url}/store/{facility.code}/picks/")
    page.click(f"text={order.name}")
    page.click("button:has-text('Start picking')")
    page.wait_for_selector("#pick-job[data-status=IN_PROGRESS] #scan-code")


def pack_and_label(page, live_server, facility, order):
    """Open the order's pack job, start it, label its parcel, close it; return the tracking number."""
    page.goto(f"{live_server.url}/store/{facility.code}/packs/")
    page.click(f"text={order.name}")
    page.click("button:has-text('Start packing')")
    box = page.locator(".box-form select[name=box]").first
    box.select_option(index=2)  # the small box
    assert "Small box" in box.evaluate("select => select.selectedOptions[0].textContent")
    page.click("button:has-text('Create label for parcel 1')")  # the box and the label in one tap
    page.wait_for_selector("a:has-text('Print label')")
    parcel = Parcel.objects.get(shipment__order=order)
    assert parcel.status == Parcel.Status.LABELED and parcel.tracking_number
    return parcel


def test_associate_picks_packs_labels_and_hands_over_then_short_picks(tablet_page, live_server):
    page = tablet_page
    page.on("dialog", lambda dialog: dialog.accept())  # the confirmations of short pick and hand-over-all
    facility, associate, _ = store_with_people("CHI-01")
    shirt = ProductFactory(name="Oxford shirt", weight_grams=300)
    mug = ProductFactory(name="Enamel mug", weight_grams=450)
    stock(facility, shirt, 6, "A-01-03")
    stock(facility, mug, 6, "B-02-01")
    first, _ = routed_order(facility, [(shirt, 1), (mug, 1)])
    second, _ = routed_order(facility, [(shirt, 2), (mug, 1)])

    login(page, live_server, associate.username)
    page.wait_for_selector("text=Pick jobs to start")

    # Pick the first job by scanning: a wrong barcode is refused where the associate looks.
    pick_job_open(page, live_server, facility, first)
    shot(page, "pick-job")
    scan(page, "#scan-code", "4006381333931")
    alert = page.wait_for_selector("#store-message [role=alert]")
    assert "Wrong item" in alert.inner_text()
    scan(page, "#scan-code", shirt.barcode)
    page.wait_for_selector("text=1 of 1 picked")
    assert page.evaluate("document.activeElement.id") == "scan-code"  # ready for the next scan
    scan(page, "#scan-code", mug.barcode)
    page.wait_for_selector("text=Picking done")
    shot(page, "pick-done")

    # Pack, open the label PDF, close.
    parcel = pack_and_label(page, live_server, facility, first)
    shot(page, "pack-labelled")
    label = page.request.get(live_server.url + page.get_attribute("a:has-text('Print label')", "href"))
    assert label.ok and label.headers["content-type"] == "application/pdf"
    with tempfile.NamedTemporaryFile(suffix=".pdf") as pdf:
        pdf.write(label.body())
        pdf.flush()
        text = subprocess.run(["pdftotext", pdf.name, "-"], capture_output=True, text=True, check=True).stdout
    assert parcel.tracking_number in text and "Ada Lovelace" in text
    page.click("button:has-text('Close pack job')")
    page.wait_for_selector("a:has-text('Go to handover')")

    # Hand over to the carrier by scanning the parcel's tracking barcode.
    page.click("a:has-text('Go to handover')")
    page.wait_for_selector("#tracking-number")
    shot(page, "handover")
    scan(page, "#tracking-number", parcel.tracking_number)
    page.wait_for_selector("#store-message [role=status]")
    first.refresh_from_db()
    assert first.status == Order.Status.COMPLETED
    assert StockLevel.objects.get(facility=facility, product=shirt).on_hand == 5

    # Second job: one shirt is missing. Short-pick it; the missing unit leaves the store, the rest is packed.
    pick_job_open(page, live_server, facility, second)
    scan(page, "#scan-code", shirt.barcode)
    page.wait_for_selector("text=1 of 2 picked")
    scan(page, "#scan-code", mug.barcode)
    page.wait_for_selector("text=1 of 1 picked")
    shirt_row = page.locator(f"tr[data-barcode='{shirt.barcode}']")
    shirt_row.locator("summary:has-text(\"Can't pick\")").click()
    shirt_row.locator("select[name=reason]").select_option("not-found")
    shot(page, "short-pick")
    shirt_row.locator("button:has-text('Short pick')").click()
    page.wait_for_selector("text=Picking done")
    missing = OrderLine.objects.get(order=second, status=OrderLine.Status.QUEUED)
    assert (missing.queue, missing.quantity, missing.product_id) == (OrderLine.Queue.REJECTED, 1, shirt.pk)
    assert list(missing.excluded_facilities.all()) == [facility]
    assert PickJob.objects.get(order=second).outcome == PickJob.Outcome.PICKED

    parcel = pack_and_label(page, live_server, facility, second)
    assert sorted(parcel.items.values_list("order_line__product__name", "quantity")) == [
        ("Enamel mug", 1), ("Oxford shirt", 1)]
    page.click("button:has-text('Close pack job')")
    page.wait_for_selector("a:has-text('Go to handover')")
