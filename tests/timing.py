"""Business time in tests: where it is pinned, and the handle tests move it with."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from models import clock as business_clock

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Every test starts here (a Wednesday, mid-morning in Shanghai), whatever the hour the suite runs
# at; fixtures shared by several tests (module and session scope) set up at SETUP_AT, before it.
PINNED_AT = dt.datetime(2026, 11, 18, 10, 30, tzinfo=SHANGHAI)
SETUP_AT = PINNED_AT - dt.timedelta(hours=1)


class Clock:
    """The test's handle on ``models.clock``: business time pinned, moved on request."""

    zone = SHANGHAI

    def now(self) -> dt.datetime:
        return business_clock.now()

    def local(self, text: str) -> dt.datetime:
        """"2026-11-18 22:00" in Shanghai time → an aware datetime."""
        return dt.datetime.fromisoformat(text).replace(tzinfo=self.zone)

    def travel_to(self, at: dt.datetime | str) -> dt.datetime:
        return business_clock.travel_to(self.local(at) if isinstance(at, str) else at)

    def travel(self, **delta: float) -> dt.datetime:
        return business_clock.travel(dt.timedelta(**delta))

    def freeze(self, at: dt.datetime | str | None = None) -> None:
        business_clock.freeze(self.local(at) if isinstance(at, str) else at)
