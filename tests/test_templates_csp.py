"""No inline script in any template: a Content-Security-Policy without 'unsafe-inline' must not break a page.

Scripts live in static/js (loaded with src=); behaviour is attached there, never with an inline <script>
body, an hx-on* attribute (htmx evaluates it as code) or an on<event>= handler attribute.
"""

import re
from pathlib import Path

import pytest

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
SCRIPT = re.compile(r"<script\b(?P<attrs>[^>]*)>(?P<body>.*?)</script\s*>", re.IGNORECASE | re.DOTALL)
HANDLER = re.compile(r"""\s(?P<name>hx-on[\w:.-]*|on[a-z]+)\s*=\s*["']""", re.IGNORECASE)


def template_files():
    return sorted(path for path in TEMPLATES.rglob("*") if path.suffix in {".html", ".txt"})


def inline_code(text: str) -> list[str]:
    found = []
    for script in SCRIPT.finditer(text):
        if script["body"].strip() or "src=" not in script["attrs"]:
            found.append("inline <script>: " + script.group(0)[:80])
    tags = re.findall(r"<[a-zA-Z][^<>]*>", text, re.DOTALL)
    for tag in tags:
        found += [f"{handler['name']}= handler in {tag[:80]}" for handler in HANDLER.finditer(tag)]
    return found


def test_the_checker_finds_inline_scripts_and_handlers():
    assert inline_code('<script>alert(1)</script>')
    assert inline_code('<form hx-on::before-request="x()">')
    assert inline_code('<input onchange="x()">')
    assert inline_code('<button\n  onclick="x()">')
    assert not inline_code('<script src="/static/js/store.js" defer></script>')
    assert not inline_code('<input name="one" data-confirm="on">')


@pytest.mark.parametrize("path", template_files(), ids=lambda path: str(path.relative_to(TEMPLATES)))
def test_no_template_has_inline_script_or_handler_attributes(path):
    assert inline_code(path.read_text()) == []
