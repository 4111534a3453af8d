"""The pages run under a Content-Security-Policy that forbids inline script, and the browser tests would see a
violation: this test makes one on purpose and checks it is caught (then forgives it)."""

import pytest

from tests.browser import conftest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_inline_script_is_refused_by_the_policy_and_reported(tablet, live_server):
    tablet.goto(f"{live_server.url}/accounts/login/")
    with pytest.raises(Exception):  # noqa: B017 - Playwright reports the refused script as an error of its own
        tablet.add_script_tag(content="window.inlineRan = true;")
    assert tablet.evaluate("window.inlineRan === undefined")
    tablet.wait_for_timeout(200)
    caught = list(conftest.CSP_VIOLATIONS)
    conftest.CSP_VIOLATIONS.clear()
    assert any("script-src" in text for text in caught), caught


def test_the_pages_own_scripts_run_under_the_policy(tablet, live_server):
    tablet.goto(f"{live_server.url}/accounts/login/")
    assert tablet.evaluate("typeof window.htmx") == "object"  # htmx loaded from the app's own static files
