"""One headless Chromium for the whole session (Debian's build), a fresh tablet-sized page per test."""

import os
import shutil

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
TABLET_PORTRAIT = {"width": 768, "height": 1024}
TABLET_LANDSCAPE = {"width": 1024, "height": 768}


# Every page of every browser test runs under the app's Content-Security-Policy (oms/settings.py); a violation —
# an inline script, an inline handler, eval, a foreign origin — is reported by the page and fails the test.
CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error(`CSP violation: ${event.violatedDirective} blocked ${event.blockedURI || "inline"}`
                + ` at ${event.sourceFile || document.location.href}:${event.lineNumber}`);
});
"""
CSP_VIOLATIONS: list[str] = []


def _watch_console(message) -> None:
    text = message.text
    if "CSP violation" in text or "Content Security Policy" in text:
        CSP_VIOLATIONS.append(text)


def _contexts_watched(browser):
    """Wrap browser.new_context so every context a test opens reports CSP violations."""
    opened = browser.new_context

    def new_context(*args, **kwargs):
        context = opened(*args, **kwargs)
        context.add_init_script(CSP_LISTENER)
        context.on("console", _watch_console)
        return context

    browser.new_context = new_context
    return browser


@pytest.fixture(autouse=True)
def no_csp_violation():
    CSP_VIOLATIONS.clear()
    yield
    assert not CSP_VIOLATIONS, "Content-Security-Policy violations:\n" + "\n".join(CSP_VIOLATIONS)


@pytest.fixture(scope="session")
def browser():
    # Playwright's sync API runs an event loop; Django must allow its ORM calls from the test thread.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        raise RuntimeError(f"Chromium not found at {CHROMIUM}: run `make services` (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run", "--disable-sync"],
        )
        yield _contexts_watched(browser)
        browser.close()


@pytest.fixture
def tablet(browser):
    context = browser.new_context(viewport=TABLET_PORTRAIT, has_touch=True)
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def login(page, live_server, username, password="secret-pass-123"):
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")


ARTIFACTS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                         "test-artifacts")


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture
def tablet_page(browser, request):
    """A tablet-sized page that saves a screenshot into test-artifacts/ when its test fails."""
    context = browser.new_context(viewport=TABLET_PORTRAIT, has_touch=True)
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        os.makedirs(ARTIFACTS, exist_ok=True)
        page.screenshot(path=os.path.join(ARTIFACTS, f"failed-{request.node.name}.png"), full_page=True)
    context.close()
