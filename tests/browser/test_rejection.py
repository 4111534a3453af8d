"""A store manager rejects an item on the tablet; the REJECTED-queue run sends it to another store, whose manager
sees the new pick job."""

import os

import pytest

from fulfillment.models import PickJob
from oms.models import LineRejection, OrderLine
from oms.routing.runs import brokering_run
from tests.browser.conftest import ARTIFACTS, login
from tests.factories import ProductFactory
from tests.fulfillment.store_world import routed_order, stock, store_with_people

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def shot(page, name):
    os.makedirs(ARTIFACTS, exist_ok=True)
    page.screenshot(path=os.path.join(ARTIFACTS, f"rejection-{name}.png"), full_page=True)


def test_manager_rejects_an_item_and_the_rejected_run_allocates_it_to_another_store(tablet_page, live_server):
    page = tablet_page
    page.on("dialog", lambda dialog: dialog.accept())  # the rejection's confirmation
    chicago, _, manager = store_with_people("CHI-01")
    newyork, _, other_manager = store_with_people("NYC-02")
    shirt = ProductFactory(name="Oxford shirt")
    mug = ProductFactory(name="Enamel mug")
    stock(chicago, shirt, 3, "A-01")
    stock(chicago, mug, 3, "B-02")
    order, job = routed_order(chicago, [(shirt, 1), (mug, 1)])
    stock(newyork, shirt, 4, "C-03")  # only now: the first routing had to choose Chicago

    login(page, live_server, manager.username)
    page.wait_for_selector("text=Pick jobs to start")
    page.goto(f"{live_server.url}/store/{chicago.code}/picks/{job.pk}/")
    row = page.locator(f"tr.pick-line:has-text('{shirt.name}')")
    row.locator("summary:has-text('Reject')").click()
    row.locator("select[name=reason]").select_option("damaged")
    shot(page, "reject-form")
    row.locator("button:has-text('Reject item')").click()
    page.wait_for_selector("text=rejected, sent to another location")
    # Still shown, greyed out at the end, so the associate sees why it is no longer to pick.
    page.wait_for_selector(f"tr.pick-line.line-canceled:has-text('{shirt.name}')")
    assert page.locator("tr.pick-line:not(.line-canceled)").count() == 1
    shot(page, "rejected")

    rejected = OrderLine.objects.get(order=order, product=shirt)
    assert (rejected.status, rejected.queue) == ("QUEUED", "REJECTED")
    assert LineRejection.objects.get().actor == manager

    brokering_run(queue="REJECTED")

    rejected.refresh_from_db()
    assert (rejected.status, rejected.allocated_facility) == ("ALLOCATED", newyork)
    assert OrderLine.objects.get(order=order, product=mug).allocated_facility == chicago
    new_job = PickJob.objects.get(order=order, facility=newyork)

    # The other store's manager sees the item as a new pick job.
    page.context.clear_cookies()
    login(page, live_server, other_manager.username)
    page.wait_for_selector("text=Pick jobs to start")
    page.goto(f"{live_server.url}/store/{newyork.code}/picks/{new_job.pk}/")
    page.wait_for_selector(f"tr.pick-line:has-text('{shirt.name}')")
    assert page.locator("tr.pick-line").count() == 1
    shot(page, "allocated-elsewhere")
