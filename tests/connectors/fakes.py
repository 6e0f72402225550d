"""Fake vendor servers on 127.0.0.1 speaking the real protocols over real HTTP and SMTP.

Each can fail on demand: ``fail(mode, times)`` with mode ``status:<code>`` (an HTTP error),
``errcode:<n>`` (a vendor error body), ``hang`` (answer after the client gave up), ``drop``
(close the connection after reading the request — it may have been acted on), ``down`` (the
next connection is refused by closing before reading: nothing was acted on).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

HANG_SECONDS = 0.8  # longer than the 0.3 s read timeout the tests configure


class FakeServer:
    """A threaded HTTP server; subclasses implement ``route(method, path, query, body)``."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.failures: list[tuple[str, str | None]] = []
        self.requests: list[tuple[str, str, dict[str, str], bytes]] = []
        self.after_request = None  # called with the path once a request was acted on
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                url = urlsplit(self.path)
                query = dict(parse_qsl(url.query))
                with fake.lock:
                    mode = None
                    for i, (m, only) in enumerate(fake.failures):
                        if only is None or only == url.path:
                            mode = fake.failures.pop(i)[0]
                            break
                    fake.requests.append((self.command, url.path, query, body))
                headers = {k.lower(): v for k, v in self.headers.items()}
                if mode == "down":
                    self.close_connection = True
                    return
                if mode and mode.startswith("status:"):
                    self._reply(int(mode.split(":")[1]), b'{"error":"injected"}')
                    return
                if mode and mode.startswith("errcode:"):
                    code = int(mode.split(":")[1])
                    self._reply(200, json.dumps(fake.error_body(code)).encode())
                    return
                status, payload = fake.route(self.command, url.path, query, body, headers)
                if fake.after_request:
                    fake.after_request(url.path)
                if mode == "drop":  # acted on, but the answer never leaves
                    self.close_connection = True
                    return
                if mode == "hang":
                    time.sleep(HANG_SECONDS)
                self._reply(status, payload if isinstance(payload, bytes) else json.dumps(payload).encode())

            def _reply(self, status: int, data: bytes) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_GET = _handle
            do_POST = _handle

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def fail(self, mode: str, times: int = 1, path: str | None = None) -> None:
        """Fail the next ``times`` requests (to ``path`` only, if given)."""
        with self.lock:
            self.failures.extend([(mode, path)] * times)

    def reset(self) -> None:
        with self.lock:
            self.failures.clear()
            self.requests.clear()
            self.forget()

    def forget(self) -> None:
        """Drop what the vendor remembers (subclasses); called by ``reset`` under the lock."""

    def error_body(self, code: int) -> dict[str, Any]:
        return {"errcode": code, "errmsg": "injected"}

    def route(self, method, path, query, body, headers):  # pragma: no cover - overridden
        return 404, {"error": "no route"}

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class FakeWeChat(FakeServer):
    """api.weixin.qq.com and qyapi.weixin.qq.com: tokens, OA sends, WeCom mass messages, 微信客服."""

    def __init__(self) -> None:
        self.tokens: set[str] = set()
        self.token_fetches = 0
        self._seq = itertools.count(1)
        self.delivered: list[dict[str, Any]] = []
        self.kf_messages: list[dict[str, Any]] = []
        super().__init__()

    def forget(self) -> None:
        self.tokens.clear()
        self.token_fetches = 0
        self.delivered.clear()
        self.kf_messages.clear()

    def expire_tokens(self) -> None:
        with self.lock:
            self.tokens.clear()

    def route(self, method, path, query, body, headers):
        if path in ("/cgi-bin/token", "/cgi-bin/gettoken"):
            ok = (query.get("secret") or query.get("corpsecret")) == "app-secret"
            if not ok:
                return 200, {"errcode": 40125, "errmsg": "invalid appsecret"}
            with self.lock:
                self.token_fetches += 1
                token = f"tok-{next(self._seq)}"
                self.tokens.add(token)
            return 200, {"access_token": token, "expires_in": 7200}
        if query.get("access_token") not in self.tokens:
            return 200, {"errcode": 42001, "errmsg": "access_token expired"}
        data = json.loads(body or b"{}")
        with self.lock:
            if path == "/cgi-bin/kf/sync_msg":
                start = int(data.get("cursor") or 0)
                page = self.kf_messages[start:start + 2]  # small pages: the cursor loop is exercised
                more = start + len(page) < len(self.kf_messages)
                return 200, {"errcode": 0, "errmsg": "ok", "next_cursor": str(start + len(page)),
                             "has_more": 1 if more else 0, "msg_list": page}
            self.delivered.append({"path": path, **data})
            n = next(self._seq)
        if path == "/cgi-bin/message/template/send":
            return 200, {"errcode": 0, "errmsg": "ok", "msgid": 200000 + n}
        if path == "/cgi-bin/externalcontact/add_msg_template":
            return 200, {"errcode": 0, "errmsg": "ok", "fail_list": [], "msgid": f"msg{n}"}
        if path == "/cgi-bin/kf/send_msg":
            return 200, {"errcode": 0, "errmsg": "ok", "msgid": data.get("msgid")}
        return 200, {"errcode": 0, "errmsg": "ok"}


def aliyun_percent(value: str) -> str:
    return quote(value, safe="~")


def aliyun_signature(params: dict[str, str], secret: str) -> str:
    """Written from Aliyun's RPC signature document, independently of connectors.sms."""
    query = "&".join(f"{aliyun_percent(k)}={aliyun_percent(v)}" for k, v in sorted(params.items()))
    string_to_sign = "POST&%2F&" + aliyun_percent(query)
    return base64.b64encode(hmac.new((secret + "&").encode(), string_to_sign.encode(), hashlib.sha1).digest()).decode()


class FakeAliyunSms(FakeServer):
    SECRET = "aliyun-secret"

    def __init__(self) -> None:
        self.sent: list[dict[str, str]] = []
        self._seq = itertools.count(1)
        super().__init__()

    def forget(self) -> None:
        self.sent.clear()

    def error_body(self, code: int) -> dict[str, Any]:
        return {"Code": "isp.SYSTEM_ERROR" if code >= 500 else "isv.BUSINESS_LIMIT_CONTROL",
                "Message": "injected", "RequestId": "r"}

    def route(self, method, path, query, body, headers):
        params = dict(parse_qsl(body.decode()))
        given = params.pop("Signature", "")
        if given != aliyun_signature(params, self.SECRET):
            return 400, {"Code": "SignatureDoesNotMatch", "Message": "bad signature", "RequestId": "r"}
        if params.get("Action") == "SendSms":
            with self.lock:
                biz = f"biz-{next(self._seq)}"
                self.sent.append({**params, "BizId": biz})
            return 200, {"Code": "OK", "Message": "OK", "BizId": biz, "RequestId": "r"}
        if params.get("Action") == "QuerySendDetails":
            with self.lock:
                rows = [{"PhoneNum": s["PhoneNumbers"], "OutId": s["OutId"], "SendStatus": 3,
                         "ErrCode": "DELIVERED", "Content": s["TemplateParam"]}
                        for s in self.sent if s["PhoneNumbers"] == params.get("PhoneNumber")]
            return 200, {"Code": "OK", "Message": "OK", "TotalCount": len(rows),
                         "SmsSendDetailDTOs": {"SmsSendDetailDTO": rows}}
        return 400, {"Code": "InvalidAction", "Message": "unknown action"}


class FakeBridge(FakeServer):
    """A bridge receiver that checks our signature and honours Idempotency-Key, as documented."""

    SECRET = "bridge-secret"

    def __init__(self) -> None:
        self.delivered: dict[str, dict[str, Any]] = {}
        self.bad_signatures = 0
        super().__init__()

    def forget(self) -> None:
        self.delivered.clear()
        self.bad_signatures = 0

    def route(self, method, path, query, body, headers):
        ts = headers.get("x-daogou-timestamp", "")
        expected = "sha256=" + hmac.new(self.SECRET.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, headers.get("x-daogou-signature", "")) or abs(time.time() - int(ts or 0)) > 300:
            with self.lock:
                self.bad_signatures += 1
            return 401, {"error": "bad signature"}
        key = headers.get("idempotency-key", "")
        with self.lock:
            self.delivered.setdefault(key, json.loads(body))
        return 200, {"message_id": f"br-{key}"}
