"""Every clerk screen fits a phone: at 390×844 and 360×740 (in Chinese, and at 360 in English too),
in real Chromium against a real server, each screen (消息 with its chat view, its 待接待 tab and a
waiting customer's chat, 今日, 客户 with a profile, 任务 with a task's detail, its draft editor and
its skip picker, 业绩, 设置) is checked for

- nothing wider than the screen: the page does not scroll sideways, no visible element reaches past
  either edge, and no box scrolls sideways inside itself unless it is a declared chip strip
  (``data-scroll-x``; what it clips is judged where it is clipped);
- tap targets of at least 44×44 px for every visible button, link, field, select, text area and
  ``role=button``/``tab``; a checkbox or radio counts by the label wrapped around it (the label is
  what a finger hits). There is no exception for inline text links: the console has none;
- text of at least 14 px, except the small labels listed in ``SMALL`` (timestamps, badges and
  pills, tab labels), which must still be 12 px or more.

Screenshots: ``test-artifacts/console-layout/<screen>-<width>[-en].png`` (and ``-2``, ``-3`` for
the next screenfuls of a long screen)."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.web import clerk_brand
from tests.web.clerk_brand import day  # noqa: F401  (fixture)
from tests.web.live import sign_in

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "console-layout"
# Both phones in Chinese, and the narrower one in English too (longer words, the same rules).
VIEWPORTS = [(390, 844, "zh-CN"), (360, 740, "zh-CN"), (360, 740, "en")]
# Text allowed below 14 px (but not below 12): timestamps, badges and pills, the tab labels.
SMALL = [".time", ".msg .meta", ".day-sep", ".badge", ".pill", ".status-badge", ".tab .label", ".scope"]
TARGETS = "button, a[href], input:not([type=hidden]), select, textarea, [role=button], [role=tab], summary"
RULES = {"small": SMALL, "targets": TARGETS}

CHECK = """({ small, targets }) => {
  const W = document.documentElement.clientWidth;
  const problems = [];
  const name = (el) => {
    const cls = typeof el.className === "string" && el.className.trim() ? "." + el.className.trim().split(/\\s+/).join(".") : "";
    const text = (el.innerText || el.value || el.getAttribute("aria-label") || "").trim().replace(/\\s+/g, " ").slice(0, 30);
    return `${el.tagName.toLowerCase()}${cls}${text ? ` "${text}"` : ""}`;
  };
  const shown = (el) => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== "hidden";
  const clipped = (el) => {
    const r = el.getBoundingClientRect();
    let left = r.left, right = r.right;
    for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
      const st = getComputedStyle(a);
      if (a.hasAttribute("data-scroll-x") || st.overflowX === "hidden" || st.overflowX === "clip") {
        const ar = a.getBoundingClientRect();
        left = Math.max(left, ar.left);
        right = Math.min(right, ar.right);
      }
    }
    return { left, right };
  };
  if (document.documentElement.scrollWidth > window.innerWidth) {
    problems.push(`the page scrolls sideways: ${document.documentElement.scrollWidth} > ${window.innerWidth}`);
  }
  for (const el of document.body.querySelectorAll("*")) {
    if (!shown(el)) continue;
    const st = getComputedStyle(el);
    const { left, right } = clipped(el);
    if (right > left && (right > W + 0.5 || left < -0.5)) {
      problems.push(`wider than the screen: ${name(el)} spans ${Math.round(left)}–${Math.round(right)} of ${W}`);
    }
    if ((st.overflowX === "auto" || st.overflowX === "scroll") && el.scrollWidth > el.clientWidth + 1
        && !el.hasAttribute("data-scroll-x")) {
      problems.push(`scrolls sideways inside: ${name(el)} (${el.scrollWidth} > ${el.clientWidth})`);
    }
    const text = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    const size = parseFloat(st.fontSize);
    if (text && size < 14 && !(size >= 12 && small.some((sel) => el.closest(sel)))) {
      problems.push(`text at ${size}px: ${name(el)}`);
    }
  }
  for (const el of document.body.querySelectorAll(targets)) {
    if (!shown(el)) continue;
    const box = el.matches("input[type=checkbox], input[type=radio]") && el.closest("label") ? el.closest("label") : el;
    const r = box.getBoundingClientRect();
    if (r.width < 43.5 || r.height < 43.5) {
      problems.push(`tap target ${Math.round(r.width)}×${Math.round(r.height)}: ${name(el)}`);
    }
  }
  return problems;
}"""

# Scroll the screens' scroller to its n-th screenful; answers how many screenfuls it has.
SCROLL = """(n) => {
  const s = document.querySelector(".screens");
  if (!s) return 1;
  s.scrollTop = s.clientHeight * n;
  return Math.ceil(s.scrollHeight / s.clientHeight);
}"""


def check(page, screen: str, suffix: str, found: dict[str, list[str]]) -> None:
    """Measure the screen as it is now and keep its screenshots (one per screenful, at most three)."""
    page.wait_for_timeout(250)  # fonts and the last layout pass
    problems = page.evaluate(CHECK, RULES)
    if problems:
        found[screen] = sorted(set(problems))
    page.evaluate("document.getElementById('toasts')?.replaceChildren()")  # measured; now out of the picture
    page.screenshot(path=str(ARTIFACTS / f"{screen}-{suffix}.png"))
    screenfuls = page.evaluate(SCROLL, 0)
    if page.query_selector(".sheet") is None:  # a sheet is one screenful over the screen
        for n in range(1, min(screenfuls, 3)):
            page.evaluate(SCROLL, n)
            page.screenshot(path=str(ARTIFACTS / f"{screen}-{suffix}-{n + 1}.png"))
        page.evaluate(SCROLL, 0)


SUNNY = clerk_brand.LONG_NAME[:5]
# The walk through the clerk's console: what to tap, what shows when it is ready, and the name
# of the screen to measure then (None: a step on the way).
WALK = [
    (".tab[data-screen=messages]", ".screen-messages:not([hidden]) .conversation", "messages"),
    (".conv-tab[data-tab=pool]", ".conversation:has-text('孙悦')", "messages-pool"),
    (".conversation:has-text('孙悦')", ".claim-bar .claim", "messages-pool-chat"),
    (".chat-head .back", ".conv-tab[data-tab=pool]", None),
    (".conv-tab[data-tab=mine]", ".conversation:has-text('陈静')", None),
    (".conversation:has-text('陈静')", ".chat .msg.in", "messages-chat"),
    (".composer .tools .quick", ".quick-replies .add input", "messages-chat-quick"),
    (".composer .tools .draft", ".draft-choices button", "messages-chat-draft"),
    (".tab[data-screen=today]", ".screen-today:not([hidden]) .today-card", "today"),
    (".tab[data-screen=customers]", ".screen-customers:not([hidden]) .followers li[data-customer]", "customers"),
    (f".follower:has-text('{SUNNY}') .add-tag", ".add-tag-form input", "customers-add-tag"),
    (".follower:has-text('陈静') .follower-main", ".sheet .tags", "customers-profile"),
    (".sheet .close", ".screen-customers:not([hidden]) .followers", None),
    (".tab[data-screen=tasks]", ".screen-tasks:not([hidden]) .task-row", "tasks"),
    (".task-row", ".target-card", "tasks-detail"),
    (".target-card:has-text('陈静') .skip", ".skip-picker .choice", "tasks-skip"),
    (f".target-card:has-text('{SUNNY}') .draft", ".draft-editor textarea", "tasks-draft"),
    (".tab[data-screen=earnings]", ".screen-earnings:not([hidden]) .earnings-orders li", "earnings"),
    (".topbar .settings", ".screen-settings:not([hidden]) .settings-section[data-section=password]", "settings"),
]


@pytest.mark.parametrize("width,height,locale", VIEWPORTS, ids=[f"{w}x{h}-{loc}" for w, h, loc in VIEWPORTS])
def test_every_clerk_screen_fits_the_phone(day, browser, width, height, locale):
    server, _brand = day
    context = browser.new_context(viewport={"width": width, "height": height}, device_scale_factor=2, is_mobile=True,
                                  has_touch=True, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    found: dict[str, list[str]] = {}
    try:
        sign_in(page, f"{server.url}/console/", "clerk1")
        page.wait_for_selector(".topbar .conn.on")
        suffix = str(width) if locale == "zh-CN" else f"{width}-{locale}"
        if locale != "zh-CN":
            page.click(".topbar .lang")
            page.wait_for_selector(".tab[data-screen=messages] .label:text('Messages')")
        for tap, ready, screen in WALK:
            page.click(tap)
            page.wait_for_selector(ready)
            if screen:
                check(page, screen, suffix, found)
    finally:
        if locale != "zh-CN":  # the choice is kept per staff member: back to Chinese for the others
            page.click(".topbar .lang")
            page.wait_for_selector(".tab[data-screen=messages] .label:text('消息')")
        context.close()
    assert errors == [], errors
    assert found == {}, "\n".join(f"{screen}: {p}" for screen, problems in found.items() for p in problems)


def test_the_checker_finds_what_a_clerk_would_stumble_on(day, browser):
    """The checker is no test that cannot fail: a too-wide row, a small button, 12 px body text, a
    box that scrolls sideways and small text in a badge each get the verdict they deserve."""
    server, _brand = day
    context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True, locale="zh-CN")
    page = context.new_page()
    try:
        sign_in(page, f"{server.url}/console/", "clerk1")
        page.wait_for_selector(".screen-messages:not([hidden]) .conversation")
        assert page.evaluate(CHECK, RULES) == []
        page.evaluate("""() => {
          const root = document.querySelector(".screen-messages");
          const add = (html) => { const t = document.createElement("template"); t.innerHTML = html; root.prepend(t.content); };
          add('<div id="wide" style="width: 400px">一行太宽的客户</div>');
          add('<button id="tiny" style="min-height: 0; min-width: 0; height: 30px; width: 60px">发送</button>');
          add('<p id="fine-print" style="font-size: 12px">小字正文</p>');
          add('<div id="slides" style="overflow-x: auto; width: 100px"><div style="width: 300px">横向滚动</div></div>');
          add('<span class="badge" style="font-size: 12px">9</span>');
        }""")
        problems = "\n".join(page.evaluate(CHECK, RULES))
    finally:
        context.close()
    assert 'wider than the screen: div "一行太宽的客户"' in problems
    assert 'tap target 60×30: button "发送"' in problems
    assert 'text at 12px: p "小字正文"' in problems
    assert 'scrolls sideways inside: div "横向滚动"' in problems
    assert '"9"' not in problems  # a badge may be small
