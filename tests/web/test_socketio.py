"""The /console namespace against a real server process, with the python-socketio client."""
from __future__ import annotations

import queue

import pytest
import socketio

from tests.web.live import inbound, login

WAIT = 10  # seconds; generous for a loaded CI machine, never slept unless something is wrong


class Console:
    """One console tab: a socket.io connection with the staff session's cookie."""

    def __init__(self, url: str, username: str | None, origin: str | None = None) -> None:
        self.events: queue.Queue = queue.Queue()
        self.http = login(url, username) if username else None
        self.origin = origin  # the page's origin, as a browser would send it
        self.sio = socketio.Client(reconnection=False,
                                   websocket_extra_options={"origin": origin} if origin else None)
        self.sio.on("*", self._any, namespace="/console")
        cookie = "; ".join(f"{k}={v}" for k, v in self.http.cookies.items()) if self.http else ""
        self.url = url
        self.headers = {"Cookie": cookie} if cookie else {}

    def _any(self, name, data=None):
        self.events.put((name, data))

    def connect(self, transport: str = "websocket") -> "Console":
        headers = dict(self.headers)
        if self.origin and transport == "polling":  # over websocket the origin option sets it
            headers["Origin"] = self.origin
        self.sio.connect(self.url, namespaces=["/console"], headers=headers, transports=[transport],
                         wait_timeout=WAIT)
        return self

    def next_event(self, name: str) -> dict:
        while True:
            got, data = self.events.get(timeout=WAIT)
            if got == name:
                return data

    def resume(self, after: int, exact: bool = False) -> dict:
        return self.sio.call("resume", {"after": after, "exact": exact}, namespace="/console", timeout=WAIT)

    def close(self) -> None:
        # Drop the connection like a phone losing Wi-Fi (abort skips the graceful close wait).
        if self.sio.connected:
            if self.sio.eio.ws is not None:
                self.sio.eio.ws.shutdown()
            self.sio.eio.disconnect(abort=True)


@pytest.fixture
def consoles(live):
    made = []

    def open_console(username, origin=None):
        console = Console(live[0].url, username, origin)
        made.append(console)
        return console

    yield open_console
    for c in made:
        c.close()


def test_anonymous_connections_are_refused(live, consoles):
    with pytest.raises(socketio.exceptions.ConnectionError):
        consoles(None).connect()


@pytest.mark.parametrize("transport", ["websocket", "polling"])
@pytest.mark.parametrize("foreign", ["http://127.0.0.1:{other_port}", "http://localhost:{port}",
                                     "https://evil.example"])
def test_a_page_on_another_origin_cannot_open_a_clerks_socket(live, consoles, transport, foreign):
    server, _ = live
    origin = foreign.format(port=server.port, other_port=server.port + 1)
    with pytest.raises(socketio.exceptions.ConnectionError):
        consoles("clerk1", origin=origin).connect(transport)


@pytest.mark.parametrize("transport", ["websocket", "polling"])
def test_the_consoles_own_origin_opens_the_socket(live, consoles, transport):
    server, _ = live
    tab = consoles("clerk1", origin=server.url).connect(transport)
    assert tab.sio.connected and "events" in tab.resume(0)


def test_a_clerk_gets_their_own_messages_and_never_another_clerks(live, consoles):
    server, brand = live
    mine, theirs = consoles("clerk1").connect(), consoles("clerk2").connect()
    inbound(server.url, brand.customers["陈静"], "给王小美的消息")
    inbound(server.url, brand.other_customer, "给李安的消息")
    assert mine.next_event("message.created")["message"]["body"] == "给王小美的消息"
    # clerk2's own message arrives after clerk1's was emitted; nothing of clerk1's came before it
    got = []
    while True:
        name, data = theirs.events.get(timeout=WAIT)
        got.append(data["message"]["body"] if name == "message.created" else name)
        if got[-1] == "给李安的消息":
            break
    assert "给王小美的消息" not in got
    assert theirs.resume(0)["events"] and all(
        e["data"]["message"]["body"] != "给王小美的消息" for e in theirs.resume(0, exact=True)["events"]
        if e["name"] == "message.created")


def test_two_tabs_of_one_clerk_both_receive(live, consoles):
    server, brand = live
    tab1, tab2 = consoles("clerk1").connect(), consoles("clerk1").connect()
    inbound(server.url, brand.customers["刘洋"], "两个标签页都要看到")
    assert tab1.next_event("message.created")["message"]["body"] == "两个标签页都要看到"
    assert tab2.next_event("message.created")["message"]["body"] == "两个标签页都要看到"


def test_reconnecting_console_gets_everything_it_missed(live, consoles):
    server, brand = live
    tab = consoles("clerk1").connect()
    inbound(server.url, brand.customers["张敏"], "断线前")
    seen = tab.next_event("message.created")["event_id"]
    tab.close()
    inbound(server.url, brand.customers["张敏"], "断线时一")
    inbound(server.url, brand.customers["张敏"], "断线时二")
    again = consoles("clerk1").connect()
    reply = again.resume(seen)
    bodies = [e["data"]["message"]["body"] for e in reply["events"]
              if e["name"] == "message.created" and e["data"]["event_id"] > seen]
    assert bodies == ["断线时一", "断线时二"]
    assert reply["last_event_id"] >= max(e["data"]["event_id"] for e in reply["events"])


def test_resume_refuses_a_bad_cursor(live, consoles):
    tab = consoles("clerk1").connect()
    assert tab.resume(-5)["fields"] == {"after": "a non-negative event id"}


def test_sending_emits_delivery_status_to_the_clerks_room(live, consoles):
    server, brand = live
    tab = consoles("clerk1").connect()
    conv = inbound(server.url, brand.customers["陈静"], "在吗")["conversation_id"]
    resp = tab.http.post(f"{server.url}/api/v1/conversations/{conv}/messages",
                         json={"body": "在的", "client_id": "sock-test-000001"}, timeout=WAIT)
    assert resp.status_code == 201
    while True:
        status = tab.next_event("message.status")
        if status["client_id"] == "sock-test-000001" and status["status"] == "delivered":
            break


def test_a_deactivated_clerks_consoles_are_told_and_cannot_reconnect(live, consoles):
    server, brand = live
    tab = consoles("clerk2").connect()
    hq = login(server.url, "hq")
    resp = hq.post(f"{server.url}/api/v1/staff/{brand.clerk2}/deactivate", json={}, timeout=WAIT)
    assert resp.status_code == 200
    tab.next_event("session.ended")
    again = Console(server.url, None)
    again.headers = tab.headers  # the same, now dead, session cookie
    with pytest.raises(socketio.exceptions.ConnectionError):
        again.connect()
