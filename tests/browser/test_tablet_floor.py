"""What an associate meets at the tablet (issue 21): picking by scans alone, one message place beside the scan
field that never moves, refusals in red with the error sound, room for the lines, touch-sized inputs."""

import os

import pytest

from fulfillment.models import PickJob
from tests.browser.conftest import TABLET_LANDSCAPE, TABLET_PORTRAIT, login
from tests.factories import ProductFactory
from tests.fulfillment.store_world import routed_order, stock, store_with_people

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = os.environ.get("STOREFILL_SHOTS", "")  # a folder to keep screenshots in, for looking at the pages


def shot(page, name):
    if SHOTS:
        os.makedirs(SHOTS, exist_ok=True)
        page.screenshot(path=os.path.join(SHOTS, f"{name}.png"))


def scan(page, field, code):
    page.fill(field, code)
    page.press(field, "Enter")


@pytest.fixture
def page_at(browser):
    """A fresh page at a given viewport: page_at(TABLET_LANDSCAPE)."""
    contexts = []

    def make(viewport):
        context = browser.new_context(viewport=viewport, has_touch=True)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        return page
    yield make
    for context in contexts:
        context.close()


def products_in_store(facility, count):
    products = []
    names = ["Oxford shirt", "Enamel mug", "Wool socks", "Canvas tote", "Linen apron", "Tea towel", "Desk lamp",
             "Notebook A5", "Water bottle", "Rain jacket"]
    for number in range(count):
        product = ProductFactory(name=names[number % len(names)], weight_grams=200)
        stock(facility, product, 10, f"A-{number + 1:02d}-01")
        products.append(product)
    return products


def test_three_line_pick_is_one_tap_on_the_job_and_three_scans(page_at, live_server):
    facility, associate, _ = store_with_people("CHI-01")
    products = products_in_store(facility, 3)
    order, job = routed_order(facility, [(product, 1) for product in products])
    page = page_at(TABLET_PORTRAIT)
    login(page, live_server, associate.username)
    page.goto(f"{live_server.url}/store/{facility.code}/picks/")

    page.click(f"text={order.name}")  # the one tap
    page.wait_for_selector("#scan-code")
    for product in products:
        scan(page, "#scan-code", product.barcode)
        page.wait_for_selector(f"#store-message:has-text('{product.sku}')")
    page.wait_for_selector("text=Picking done")
    shot(page, "pick-done")

    job.refresh_from_db()
    assert (job.status, job.assigned_to) == (PickJob.Status.CLOSED, associate)


def test_the_queue_scan_opens_the_earliest_due_job_with_the_item(page_at, live_server):
    facility, associate, _ = store_with_people("CHI-01")
    shirt, mug = products_in_store(facility, 2)
    routed_order(facility, [(mug, 1)])
    order, job = routed_order(facility, [(shirt, 1), (mug, 1)])
    page = page_at(TABLET_PORTRAIT)
    login(page, live_server, associate.username)
    page.goto(f"{live_server.url}/store/{facility.code}/picks/")

    scan(page, "#scan-code", "4006381333931")
    alert = page.wait_for_selector("#store-message [role=alert]")
    assert "No open pick job needs 4006381333931" in alert.inner_text()
    assert page.evaluate("document.activeElement.id") == "scan-code"
    shot(page, "pick-queue-refused")

    scan(page, "#scan-code", shirt.barcode)
    page.wait_for_url(f"**/picks/{job.pk}/")
    assert order.name in page.inner_text("h1")


def box_of(page, selector):
    box = page.locator(selector).bounding_box()
    return tuple(round(box[key]) for key in ("x", "y", "width", "height"))


def refused_where_the_associate_looks(page, field, text):
    """The refusal is red in the message place, the error sound played, the focus is back in the scan field."""
    alert = page.wait_for_selector("#store-message [role=alert]")
    assert text in alert.inner_text()
    assert page.evaluate("getComputedStyle(document.querySelector('#store-message [role=alert]')).backgroundColor") \
        == "rgb(198, 40, 40)"  # --danger
    assert page.evaluate("document.body.dataset.lastSound") == "error"
    assert page.evaluate("document.activeElement.id") == field.lstrip("#")


def test_the_pick_scan_field_does_not_move_for_a_good_or_a_refused_scan(page_at, live_server):
    facility, associate, _ = store_with_people("CHI-01")
    products = products_in_store(facility, 3)
    order, job = routed_order(facility, [(product, 2) for product in products])
    for name, viewport in (("landscape", TABLET_LANDSCAPE), ("portrait", TABLET_PORTRAIT)):
        page = page_at(viewport)
        login(page, live_server, associate.username)
        page.goto(f"{live_server.url}/store/{facility.code}/picks/{job.pk}/")
        page.wait_for_selector("#scan-code")
        before = box_of(page, "#scan-code")
        shot(page, f"pick-open-{name}")

        scan(page, "#scan-code", products[0].barcode)
        page.wait_for_selector("#store-message [role=status]")
        assert box_of(page, "#scan-code") == before
        shot(page, f"pick-ok-{name}")

        scan(page, "#scan-code", "4006381333931")
        refused_where_the_associate_looks(page, "#scan-code", "Wrong item")
        assert box_of(page, "#scan-code") == before
        shot(page, f"pick-refused-{name}")


def test_the_handover_scan_field_does_not_move_and_a_refusal_is_red_and_audible(page_at, live_server):
    from tests.fulfillment.packing_world import packed, picked_order

    facility, associate, _ = store_with_people("CHI-01")
    shirt, = products_in_store(facility, 1)
    pack_job = picked_order(facility, associate, [(shirt, 1)])
    packed(pack_job, associate)
    tracking = pack_job.shipment.parcels.get().tracking_number
    page = page_at(TABLET_PORTRAIT)
    login(page, live_server, associate.username)
    page.goto(f"{live_server.url}/store/{facility.code}/handover/")
    page.wait_for_selector("#tracking-number")
    before = box_of(page, "#tracking-number")

    scan(page, "#tracking-number", "NOPE-123")
    refused_where_the_associate_looks(page, "#tracking-number", "NOPE-123")
    assert box_of(page, "#tracking-number") == before
    shot(page, "handover-refused")

    scan(page, "#tracking-number", tracking)
    page.wait_for_selector("#store-message [role=status]")
    assert page.locator("#store-message [role=alert]").count() == 0
    assert box_of(page, "#tracking-number") == before
    shot(page, "handover-ok")


def test_a_refused_code_at_the_counter_is_red_audible_and_the_field_stays(page_at, live_server):
    facility, associate, _ = store_with_people("CHI-01")
    page = page_at(TABLET_LANDSCAPE)
    login(page, live_server, associate.username)
    page.goto(f"{live_server.url}/store/{facility.code}/counter/")
    page.wait_for_selector("#pickup-search")
    before = box_of(page, "#pickup-search")

    scan(page, "#pickup-search", "ZZZZ99")
    refused_where_the_associate_looks(page, "#pickup-search", "ZZZZ99")
    assert box_of(page, "#pickup-search") == before
    shot(page, "counter-refused")


def test_a_refused_pack_action_is_red_and_audible(page_at, live_server):
    from tests.fulfillment.packing_world import picked_order

    facility, associate, _ = store_with_people("CHI-01")
    shirt, = products_in_store(facility, 1)
    pack_job = picked_order(facility, associate, [(shirt, 1)])
    page = page_at(TABLET_PORTRAIT)
    login(page, live_server, associate.username)
    page.goto(f"{live_server.url}/store/{facility.code}/packs/{pack_job.pk}/")
    page.click("button:has-text('Start packing')")
    page.wait_for_selector("[data-status=IN_PROGRESS]")

    page.click("button:has-text('Close pack job')")  # no parcel has a label yet

    alert = page.wait_for_selector("#store-message [role=alert]")
    assert "label" in alert.inner_text()
    assert page.evaluate("document.body.dataset.lastSound") == "error"
    shot(page, "pack-refused")


def test_an_error_page_is_never_drawn_inside_the_page_nor_silent(page_at, live_server):
    facility, associate, _ = store_with_people("CHI-01")
    products = products_in_store(facility, 1)
    _, job = routed_order(facility, [(products[0], 1)])
    page = page_at(TABLET_PORTRAIT)
    login(page, live_server, associate.username)
    page.goto(f"{live_server.url}/store/{facility.code}/picks/{job.pk}/")
    page.wait_for_selector("#scan-code")
    page.route("**/scan/", lambda route: route.fulfill(status=500, body="<h1>Server Error (500)</h1>"))

    scan(page, "#scan-code", products[0].barcode)

    refused_where_the_associate_looks(page, "#scan-code", "error 500")
    assert page.locator("#pick-job h1").count() == 1 and "Server Error" not in page.inner_text("#pick-job")


def visible_lines(page) -> int:
    """Pick lines wholly on screen without scrolling."""
    return page.evaluate("""() => [...document.querySelectorAll('tr.pick-line')]
        .filter(row => row.getBoundingClientRect().bottom <= window.innerHeight).length""")


@pytest.mark.parametrize("viewport, least", [(TABLET_LANDSCAPE, 4), (TABLET_PORTRAIT, 6)],
                         ids=["1024x768", "768x1024"])
def test_an_open_pick_job_shows_its_lines_above_the_fold(page_at, live_server, viewport, least):
    facility, associate, _ = store_with_people("CHI-01")
    products = products_in_store(facility, 8)
    _, job = routed_order(facility, [(product, 2) for product in products])
    page = page_at(viewport)
    login(page, live_server, associate.username)
    page.goto(f"{live_server.url}/store/{facility.code}/picks/{job.pk}/")
    page.wait_for_selector("#scan-code")
    shot(page, f"pick-fold-open-{viewport['width']}x{viewport['height']}")
    assert visible_lines(page) >= least

    scan(page, "#scan-code", products[0].barcode)  # started: Pause instead of Start, the same room
    page.wait_for_selector("#store-message [role=status]")
    shot(page, f"pick-fold-{viewport['width']}x{viewport['height']}")
    assert visible_lines(page) >= least


def primary_buttons(page) -> list[str]:
    return [text.strip() for text in page.locator("#pack-area .button-primary").all_inner_texts()]


def test_packing_the_primary_button_is_always_the_next_step(page_at, live_server):
    from tests.fulfillment.packing_world import picked_order

    facility, associate, _ = store_with_people("CHI-01")
    shirt, = products_in_store(facility, 1)
    pack_job = picked_order(facility, associate, [(shirt, 1)])
    page = page_at(TABLET_PORTRAIT)
    login(page, live_server, associate.username)
    page.goto(f"{live_server.url}/store/{facility.code}/packs/{pack_job.pk}/")
    assert primary_buttons(page) == ["Start packing"]

    page.click("button:has-text('Start packing')")
    page.wait_for_selector("#pack-area[data-status=IN_PROGRESS]")
    assert primary_buttons(page) == ["Create label for parcel 1"]  # not "Close pack job": nothing is labelled
    assert page.locator("button:has-text('Save box')").count() == 0
    shot(page, "pack-choose-box")

    page.select_option(".box-form select[name=box]", index=2)
    page.click("button:has-text('Create label for parcel 1')")  # box and label in one tap: the weight is known
    page.wait_for_selector("text=Tracking")
    assert primary_buttons(page) == ["Close pack job"]
    shot(page, "pack-labelled")

    page.click("button:has-text('Close pack job')")
    page.wait_for_selector("#pack-area[data-status=CLOSED]")
    assert primary_buttons(page) == ["Go to handover"]


SMALL_CONTROLS = """() => {
  document.querySelectorAll('details').forEach(details => { details.open = true; });
  const bad = [];
  const controls = document.querySelectorAll(
    'main input:not([type=hidden]):not([type=checkbox]):not([type=radio]), main select, main textarea');
  for (const control of controls) {
    const style = getComputedStyle(control);
    const box = control.getBoundingClientRect();
    if (box.width === 0) continue;  // not shown on this page
    const size = parseFloat(style.fontSize);
    if (size < 16 || box.height < 44) {
      bad.push(`${control.name || control.id} ${size}px text, ${Math.round(box.height)}px tall`);
    }
  }
  for (const button of document.querySelectorAll('main .button, main button')) {
    const box = button.getBoundingClientRect();
    if (box.width === 0 || !button.textContent.trim()) continue;
    const range = document.createRange();
    range.selectNodeContents(button);
    const text = range.getBoundingClientRect();
    const dx = Math.abs((text.left + text.right) / 2 - (box.left + box.right) / 2);
    const dy = Math.abs((text.top + text.bottom) / 2 - (box.top + box.bottom) / 2);
    if (dx > 3 || dy > 3) {
      bad.push(`button "${button.textContent.trim()}" text off centre by ${Math.round(dx)}, ${Math.round(dy)}px`);
    }
  }
  return bad;
}"""


def test_every_input_is_touch_sized_and_button_text_is_centred_on_store_pages(page_at, live_server):
    from fulfillment.models import HandoverJob
    from fulfillment.picking import pick_job_start
    from stores.models import Facility
    from tests.fulfillment.counter_world import ready_pickup
    from tests.fulfillment.packing_world import packed, picked_order

    facility, associate, manager = store_with_people("CHI-01")
    Facility.objects.filter(pk=facility.pk).update(pickup_proof_required=True)
    shirt, mug, socks = products_in_store(facility, 3)
    _, job = routed_order(facility, [(shirt, 1), (mug, 2)])
    pick_job_start(job_id=job.pk, facility_id=facility.pk, actor=manager, version=job.version)
    pack_job = picked_order(facility, associate, [(mug, 1)])
    labelled = picked_order(facility, associate, [(socks, 1)])
    packed(labelled, associate)
    pickup = ready_pickup(facility, associate, [(shirt, 1)], customer_name="Grace Hopper")
    from fulfillment.packing import pack_job_start
    pack_job_start(pack_job_id=pack_job.pk, facility_id=facility.pk, actor=associate, version=0)
    assert HandoverJob.objects.filter(pk=pickup.pk).exists()

    page = page_at(TABLET_PORTRAIT)
    login(page, live_server, manager.username)
    base = f"{live_server.url}/store/{facility.code}"
    problems = {}
    for path in ["/picks/", f"/picks/{job.pk}/", "/batches/new/", "/packs/", f"/packs/{pack_job.pk}/", "/handover/",
                 "/counter/", f"/counter/{pickup.pk}/", "/put-back/", "/problems/", "/reports/rejections/"]:
        page.goto(base + path)
        page.wait_for_selector("main")
        bad = page.evaluate(SMALL_CONTROLS)
        if bad:
            problems[path] = bad
    assert problems == {}


def test_scans_faster_than_the_answers_each_count_once(page_at, live_server):
    facility, associate, _ = store_with_people("CHI-01")
    shirt, mug = products_in_store(facility, 2)
    _, job = routed_order(facility, [(shirt, 2), (mug, 1)])
    page = page_at(TABLET_PORTRAIT)
    login(page, live_server, associate.username)
    page.goto(f"{live_server.url}/store/{facility.code}/picks/{job.pk}/")
    page.wait_for_selector("#scan-code")

    cdp = page.context.new_cdp_session(page)  # a store's network: each answer takes a while to come back
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions",
             {"offline": False, "latency": 300, "downloadThroughput": -1, "uploadThroughput": -1})

    for code in (shirt.barcode, shirt.barcode, mug.barcode):  # a scanner types each code and Enter
        page.keyboard.type(code, delay=5)
        page.keyboard.press("Enter")
        page.wait_for_timeout(150)  # the next item is in front of the scanner before the answer is back
    page.wait_for_selector("text=Picking done")

    assert sorted(job.lines.values_list("picked_quantity", flat=True)) == [1, 2]
    assert page.locator("#store-message [role=alert]").count() == 0


def test_a_tap_after_the_session_ended_leads_to_the_login_page_not_into_the_job(page_at, live_server):
    facility, associate, _ = store_with_people("CHI-01")
    shirt, = products_in_store(facility, 1)
    _, job = routed_order(facility, [(shirt, 1)])
    page = page_at(TABLET_PORTRAIT)
    login(page, live_server, associate.username)
    page.goto(f"{live_server.url}/store/{facility.code}/picks/{job.pk}/")
    page.wait_for_selector("#scan-code")
    kept = [cookie for cookie in page.context.cookies() if cookie["name"] != "sessionid"]
    page.context.clear_cookies()
    page.context.add_cookies(kept)  # the session ended; the CSRF cookie stays

    scan(page, "#scan-code", shirt.barcode)

    page.wait_for_url(lambda url: "/accounts/login/" in url and f"next=/store/{facility.code}/picks/{job.pk}/" in url)
    assert page.locator("#pick-job").count() == 0 and page.locator("#id_username").count() == 1
