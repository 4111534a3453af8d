"""No page scrolls sideways on a tablet held upright (768 px): every GET page the URL walk reaches, as each role,
on the demo after a working day. Words are not broken one per line and email addresses not mid-word either."""

import os
import re

import pytest
from django.test import Client

from tests.browser.conftest import ARTIFACTS, TABLET_PORTRAIT
from tests.url_walk import url_walk
from tests.walk_world import PASSWORD, working_day

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROLES = ("anonymous", "associate", "manager", "operations")
# Django's admin has its own (wide) changelists and is not ours to style.
SKIP_PREFIXES = ("admin:",)

WIDER_THAN_THE_WINDOW = """() => {
  const width = window.innerWidth;
  const wide = document.documentElement.scrollWidth > width;
  const culprits = wide ? [...document.querySelectorAll('body *')]
      .filter(el => el.getBoundingClientRect().right > width + 1)
      .slice(-5).map(el => el.tagName.toLowerCase() + (el.className ? '.' + el.className : '')) : [];
  return {scrollWidth: document.documentElement.scrollWidth, width, culprits};
}"""

# Text laid out so narrow that it breaks badly: inside a word (not at a space or hyphen), an item name of three or
# more words one word per line, an email address over two lines. Preformatted text (payloads) is left alone.
BROKEN_WORDS = """() => {
  const broken = [];
  const lineCount = (node, start, end) => {
    const range = document.createRange();
    range.setStart(node, start);
    range.setEnd(node, end);
    return new Set([...range.getClientRects()].filter(r => r.width > 0).map(r => Math.round(r.top))).size;
  };
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    const parent = node.parentElement;
    const text = node.textContent;
    if (text.trim().length < 4 || !parent || parent.offsetParent === null) continue;
    if (getComputedStyle(parent).whiteSpace.startsWith('pre')) continue;
    const lines = lineCount(node, 0, text.length);
    const words = text.trim().split(/\\s+/).length;
    const parts = text.trim().split(/[\\s\\-\u2013\\/]+/).length;
    if (lines > parts) broken.push('inside a word: ' + text.trim().slice(0, 60));
    else if (words >= 3 && lines >= words) broken.push('a word per line: ' + text.trim().slice(0, 60));
    for (const match of text.matchAll(/\\S+@\\S+/g)) {
      if (lineCount(node, match.index, match.index + match[0].length) > 1) broken.push('email: ' + match[0]);
    }
  }
  return broken.slice(0, 5);
}"""


def pages_for(role: str, user, world) -> list[str]:
    """The HTML pages a role gets with a 200 from a GET, in the walk's order."""
    client = Client()
    if user is not None:
        client.force_login(user)
    pages = []
    for target in url_walk(world):
        if "GET" not in target.methods or target.name.startswith(SKIP_PREFIXES):
            continue
        response = client.get(target.url)
        if response.status_code == 200 and response["Content-Type"].startswith("text/html"):
            pages.append(target.url)
    return pages


def test_no_page_scrolls_sideways_or_breaks_words_at_768_px(browser, live_server):
    day = working_day()
    problems = []
    for role in ROLES:
        user = day.users[role]
        context = browser.new_context(viewport=TABLET_PORTRAIT, has_touch=True)
        page = context.new_page()
        page.set_default_timeout(10_000)
        if user is not None:
            page.goto(f"{live_server.url}/accounts/login/")
            page.fill("#id_username", user.username)
            page.fill("#id_password", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_load_state()
        for url in dict.fromkeys(pages_for(role, user, day.world)):
            page.goto(f"{live_server.url}{url}", wait_until="load")
            width = page.evaluate(WIDER_THAN_THE_WINDOW)
            found = []
            if width["scrollWidth"] > width["width"]:
                found.append(f"{url} as {role}: {width['scrollWidth']} px wide, e.g. {width['culprits']}")
            broken = page.evaluate(BROKEN_WORDS)
            if broken:
                found.append(f"{url} as {role}: words broken across lines: {broken}")
            if found:
                os.makedirs(ARTIFACTS, exist_ok=True)
                name = re.sub(r"[^a-z0-9]+", "-", f"{role}{url}".lower()).strip("-")
                page.screenshot(path=os.path.join(ARTIFACTS, f"wide-{name}.png"), full_page=True)
            problems += found
        context.close()
    assert not problems, "\n".join(problems)
