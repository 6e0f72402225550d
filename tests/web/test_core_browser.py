"""web/common/core.js in Chromium: the DOM builder never writes a script URL into a link or an
image, however it is disguised (penetration test, issue 22, finding 9)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

CORE_JS = Path(__file__).resolve().parents[2] / "web" / "common" / "core.js"
ORIGIN = "http://daogou.test"

DISGUISED = ["java\tscript:alert(1)", "java\nscript:alert(1)", "jav\ra\tscript:alert(1)", " javascript:alert(1)",
             "\u0001javascript:alert(1)", "JAVASCRIPT:alert(1)", "vbscript:msgbox(1)",
             "data:text/html,<script>alert(1)</script>", "j\tavascript\t:alert(1)"]
KEPT = ["https://shop.example/p/1", "http://img.example/a.jpg", "/uploads/a.jpg", "tel:13800138000",
        "mailto:a@example.com", "data:image/png;base64,AAAA", "#top", "p/1"]


@pytest.fixture(scope="module")
def page(browser):
    context = browser.new_context()
    page = context.new_page()
    page.route(f"{ORIGIN}/", lambda route: route.fulfill(
        content_type="text/html", body='<!doctype html><html><body><script src="/core.js"></script></body></html>'))
    page.route(f"{ORIGIN}/core.js", lambda route: route.fulfill(
        content_type="text/javascript", body=CORE_JS.read_text(encoding="utf-8")))
    page.goto(f"{ORIGIN}/")
    page.wait_for_function("window.DaogouCore !== undefined")
    yield page
    context.close()


def built(page, attr: str, value: str):
    tag = "img" if attr == "src" else "a"
    return page.evaluate(f"DaogouCore.el({json.dumps(tag)}, {{{json.dumps(attr)}: {json.dumps(value)}}})"
                         f".getAttribute({json.dumps(attr)})")


@pytest.mark.parametrize("value", DISGUISED)
@pytest.mark.parametrize("attr", ["href", "src"])
def test_a_disguised_script_url_is_never_written(page, attr, value):
    assert built(page, attr, value) is None


@pytest.mark.parametrize("value", KEPT)
def test_web_addresses_and_paths_are_kept(page, value):
    assert built(page, "href", value) == value
