"""Logging in on a tablet lands each role on its own home page."""

from pathlib import Path

import pytest

from stores.models import StoreMembership
from tests.browser.conftest import login
from tests.factories import FacilityFactory, MembershipFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def test_associate_logs_in_on_a_tablet_and_sees_their_store(tablet, live_server):
    facility = FacilityFactory(name="Chicago Loop")
    MembershipFactory(user=UserFactory(username="loop-associate"), facility=facility,
                      role=StoreMembership.Role.ASSOCIATE)
    login(tablet, live_server, "loop-associate")
    tablet.wait_for_selector("h1:has-text('Chicago Loop')")
    assert tablet.locator(".tile-label", has_text="Pick jobs to start").is_visible()
    button = tablet.locator(".topbar button", has_text="Log out").bounding_box()
    assert button["height"] >= 44, "touch targets must be finger-sized"
    ARTIFACTS.mkdir(exist_ok=True)
    tablet.screenshot(path=str(ARTIFACTS / "store-home-tablet.png"), full_page=True)


def test_wrong_password_is_shown_where_the_user_looks(tablet, live_server):
    UserFactory(username="someone")
    login(tablet, live_server, "someone", password="wrong")
    alert = tablet.locator("[role=alert]")
    assert alert.is_visible() and "correct username and password" in alert.inner_text()
