"""Business time has one source: ``models.clock``. A new wall-clock read anywhere else fails here.

The allow-list names each exception and why: protocol timestamps a vendor checks against its own
wall clock (signature windows, token lifetimes, request timestamps) must be real time, or a
pinned test clock would make every signature stale. Monotonic timers are never business time and
are not matched.
"""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("app", "assistant", "models", "connectors")
WALL_CLOCK = re.compile(r"datetime\.now\(|datetime\.utcnow\(|datetime\.today\(|date\.today\(|time\.time\(\)"
                        r"|datetime\.fromtimestamp\(time|time\.localtime\(|time\.gmtime\(")

ALLOWED = {
    "models/clock.py": "the clock itself",
    "connectors/wechat_common.py": "WeChat signature window and access-token expiry are checked against WeChat's clock",
    "connectors/bridge.py": "the bridge's HMAC timestamp window is checked against the partner's clock",
    "connectors/sms.py": "Aliyun's request Timestamp and report SendDate are the vendor's wall-clock fields",
    "app/channels/ratelimit.py": "per-second send windows shared through Redis by every process: a rate, not business time",
}


def wall_clock_reads() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                code = line.split("#", 1)[0]
                if WALL_CLOCK.search(code):
                    found.setdefault(rel, []).append(f"{rel}:{number}: {line.strip()}")
    return found


def test_business_time_is_read_only_through_the_one_clock():
    stray = [hit for rel, hits in wall_clock_reads().items() if rel not in ALLOWED for hit in hits]
    assert not stray, "read business time with models.clock.now() (or models.utcnow()):\n" + "\n".join(stray)


def test_every_allowed_exception_still_exists():
    """An allow-list entry whose file no longer reads the wall clock is removed, not kept."""
    found = wall_clock_reads()
    assert not [rel for rel in ALLOWED if rel not in found]


def test_pinned_clock_runs_on_and_travel_moves_it(clock):
    start = clock.now()
    assert start == clock.local("2026-11-18 10:30") or 0 <= (start - clock.local("2026-11-18 10:30")).total_seconds() < 60
    moved = clock.travel_to("2026-11-18 23:30")
    assert moved.astimezone(clock.zone).strftime("%H:%M") == "23:30"
    clock.freeze("2026-11-30 08:00")
    assert clock.now() == clock.local("2026-11-30 08:00") == clock.now()
    clock.travel(hours=1)
    assert clock.now() == clock.local("2026-11-30 09:00")
