"""Fixtures for channel tests: the fake vendor servers and channel accounts pointed at them."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from models import clock as business_clock

from tests.connectors import fakes

FIXTURES = Path(__file__).parent / "fixtures"


def load_fixture(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def expectations(channel: str) -> dict:
    return json.loads((FIXTURES / channel / "expected.json").read_text(encoding="utf-8"))


def _fake_server(fake: type[fakes.FakeServer]):
    """A session fixture running one ``fake`` vendor server, closed at the end."""
    @pytest.fixture(scope="session")
    def server():
        running = fake()
        yield running
        running.close()
    return server


wechat_server = _fake_server(fakes.FakeWeChat)
aliyun_server = _fake_server(fakes.FakeAliyunSms)
bridge_server = _fake_server(fakes.FakeBridge)


@pytest.fixture
def wechat(wechat_server):
    from connectors.wechat_common import forget_process_tokens

    wechat_server.reset()
    forget_process_tokens()
    return wechat_server


@pytest.fixture
def aliyun(aliyun_server):
    aliyun_server.reset()
    return aliyun_server


@pytest.fixture
def bridge_receiver(bridge_server):
    bridge_server.reset()
    return bridge_server


class Clock:
    """Business time stopped and moved by hand: outages of minutes pass in no time."""

    def __init__(self, start: dt.datetime) -> None:
        business_clock.freeze(start + dt.timedelta(seconds=5))

    @property
    def now(self) -> dt.datetime:
        return business_clock.now()

    def __call__(self) -> dt.datetime:
        return business_clock.now()

    def advance(self, seconds: float) -> None:
        business_clock.travel(dt.timedelta(seconds=seconds))


@pytest.fixture
def clock(clock, app) -> Clock:
    return Clock(clock.now())


@pytest.fixture
def add_channel(app, db):
    from app.channels.accounts import add_account, registry

    def add(kind: str, name: str, **settings):
        with db.transaction() as s:
            add_account(s, app, kind, name, settings)
        registry(app).forget()

    return add
