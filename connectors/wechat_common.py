"""What WeChat OA, WeCom and 微信客服 share: callback signatures and crypto, safe XML, the access
token kept once for every process, and the error codes as data.

wechatpy supplies the AES message crypto (``PrpCrypto``) and the token session storages
(``RedisStorage`` / ``MemoryStorage``). Its HTTP client is not used for sends, because of traps
that matter to an outbox: it retries 40001 without limit, fetches tokens without a timeout,
raises raw ``requests`` exceptions, and cannot be pointed at another host for the token.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from typing import Any

import xmltodict
from wechatpy.crypto import PrpCrypto
from wechatpy.session.memorystorage import MemoryStorage
from wechatpy.session.redisstorage import RedisStorage

from connectors.base import (DEFAULT_TIMEOUT, Connector, ConnectorError, InboundRejected, InboundRequest, http_call,
                             json_of)

TIMESTAMP_WINDOW_SECONDS = 300
# WeChat keeps a replaced token valid for 5 more minutes; refreshing 5 minutes before the
# announced expiry means no request ever carries an expired token, and no two refreshers race.
TOKEN_SAFETY_MARGIN_SECONDS = 300

# https://developers.weixin.qq.com/doc/offiaccount/Getting_Started/Global_Return_Code.html
# https://developer.work.weixin.qq.com/document/path/90313
TOKEN_INVALID = {40001, 40014, 42001}          # refresh the token once and retry once
OUT_OF_WINDOW = {45015, 45047}                 # 48-hour window closed / 5-message quota used
RATE_LIMITED = {45009, 45011, 45033, 45035}    # API quota or frequency: back off
RETRYABLE = {-1}                               # system busy
RATE_LIMIT_BACKOFF_SECONDS = 600.0

_process_storage = MemoryStorage()
_process_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def forget_process_tokens() -> None:
    """Drop this process's cached tokens (a new vendor environment, or a test)."""
    _process_storage._data.clear()


def signature(*parts: str) -> str:
    """WeChat's callback signature: SHA-1 of the sorted, concatenated parts."""
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def check_signature(expected: str | None, *parts: str) -> None:
    if not expected or not hmac.compare_digest(signature(*parts), expected):
        raise InboundRejected("bad signature", 403)


def check_timestamp(timestamp: str | None, now: float | None = None) -> None:
    try:
        ts = int(timestamp or "")
    except ValueError:
        raise InboundRejected("timestamp missing or not a number", 400) from None
    if abs((now or time.time()) - ts) > TIMESTAMP_WINDOW_SECONDS:
        raise InboundRejected("stale timestamp", 403)


def check_signed_query(args: dict[str, str], token: str, *signed: str, key: str = "signature") -> None:
    """Refuse a callback query that is stale, or whose ``key`` argument does not sign the token,
    its timestamp and nonce, and ``signed`` (the echo string or ciphertext, where signed)."""
    check_timestamp(args.get("timestamp"))
    check_signature(args.get(key), token, args.get("timestamp", ""), args.get("nonce", ""), *signed)


# A query is accepted while its timestamp is within the window either side of now, so it stays
# usable for twice the window after it is first seen: remember it that long.
SEEN_QUERY_SECONDS = 2 * TIMESTAMP_WINDOW_SECONDS


def refuse_replayed_query(counters: Any, scope: str, args: dict[str, str], body: bytes) -> None:
    """A signed query (signature, timestamp, nonce) carries one body, once per window.

    In plain mode WeChat signs the query and not the body, so a query string copied from a log
    could carry any body while its timestamp is fresh. The first body seen under a query is the
    only one it may carry; the very same request again is WeChat retrying (let through: the
    receipts de-duplicate it). ``counters`` are the app's, shared by every process (``acquire``).
    """
    if counters is None:
        raise ConnectorError("no counters to remember callback nonces: call use_counters() first")
    query = hashlib.sha256("\n".join([scope, args.get("signature", ""), args.get("timestamp", ""),
                                       args.get("nonce", "")]).encode()).hexdigest()[:40]
    content = hashlib.sha256(body).hexdigest()[:40]
    if not counters.acquire(f"wechat:seen:{query}:{content}", 1, SEEN_QUERY_SECONDS):
        return  # this exact request was seen: a vendor retry
    if not counters.acquire(f"wechat:seen:{query}", 1, SEEN_QUERY_SECONDS):
        raise InboundRejected("signature already used with another body (replay)", 403)


def parse_xml(body: bytes | str) -> dict[str, Any]:
    """The ``<xml>`` element as a dict; DOCTYPE/entity declarations (XXE) are refused."""
    text = body.decode("utf-8") if isinstance(body, bytes) else body
    if "<!DOCTYPE" in text.upper() or "<!ENTITY" in text.upper():
        raise InboundRejected("XML with a DOCTYPE or entity declaration", 400)
    try:
        doc = xmltodict.parse(text, disable_entities=True)
    except Exception as exc:  # expat raises ExpatError, xmltodict ValueError: both mean bad XML
        raise InboundRejected(f"malformed XML: {type(exc).__name__}", 400) from None
    root = doc.get("xml") if isinstance(doc, dict) else None
    if not isinstance(root, dict):
        raise InboundRejected("no <xml> root element", 400)
    return root


def decrypt(encoding_aes_key: str, receive_id: str, encrypted: str) -> str:
    """Decrypt a safe-mode payload; a different appid/corpid inside means it is not ours."""
    import base64

    from wechatpy.exceptions import InvalidAppIdException

    try:
        key = base64.b64decode(encoding_aes_key + "=")
        return PrpCrypto(key).decrypt(encrypted, receive_id)
    except InvalidAppIdException:
        raise InboundRejected("wrong appid/corpid in the encrypted message", 403) from None
    except Exception as exc:  # noqa: BLE001 — garbage ciphertext fails in many ways (padding,
        # struct, base64, unicode); every one of them means "not a message from the vendor".
        raise InboundRejected(f"cannot decrypt: {type(exc).__name__}", 400) from None


def encrypt(encoding_aes_key: str, receive_id: str, text: str) -> str:
    import base64

    key = base64.b64decode(encoding_aes_key + "=")
    return PrpCrypto(key).encrypt(text, receive_id).decode()


class TokenKeeper:
    """The access token of one app, shared by every process through the session storage.

    One refresher at a time: a Redis lock (or a process lock in the embedded mode); whoever
    waited re-reads the storage instead of fetching again.
    """

    def __init__(self, name: str, fetch_url: str, params: dict[str, str], transport: Any,
                 timeout: Any = DEFAULT_TIMEOUT) -> None:
        self.name = name
        self.timeout = timeout  # wechatpy's own fetch has none: a hung token call would hang us
        self.fetch_url = fetch_url
        self.params = params
        self.transport = transport
        self.storage: Any = _process_storage
        self.redis = None

    def share(self, redis) -> None:
        if redis is not None:
            self.redis = redis
            self.storage = RedisStorage(redis, prefix="daogou:wechat")

    def _lock(self):
        if self.redis is not None:
            return self.redis.lock(f"daogou:wechat:refresh:{self.name}", timeout=30, blocking_timeout=15)
        with _locks_guard:
            return _process_locks.setdefault(self.name, threading.Lock())

    def _cached(self) -> str | None:
        found = self.storage.get(f"{self.name}_access_token")
        if isinstance(found, dict) and found.get("expires_at", 0) > time.time():
            return found["token"]
        return None

    def get(self) -> str:
        token = self._cached()
        if token:
            return token
        with self._lock():
            return self._cached() or self._fetch()

    def invalidate(self, used: str) -> None:
        """Forget ``used`` unless another process already replaced it."""
        with self._lock():
            found = self.storage.get(f"{self.name}_access_token")
            if isinstance(found, dict) and found.get("token") == used:
                self.storage.delete(f"{self.name}_access_token")

    def _fetch(self) -> str:
        data = json_of(http_call(self.transport, "GET", self.fetch_url, params=self.params, timeout=self.timeout))
        code = int(data.get("errcode") or 0)
        if code or not data.get("access_token"):
            raise ConnectorError(f"token refused: {data.get('errmsg', code)}", code=code,
                                 retryable=code in RETRYABLE or code in RATE_LIMITED)
        lifetime = int(data.get("expires_in") or 7200)
        expires_at = time.time() + max(60, lifetime - TOKEN_SAFETY_MARGIN_SECONDS)
        self.storage.set(f"{self.name}_access_token", {"token": data["access_token"], "expires_at": expires_at},
                         lifetime)
        return data["access_token"]


class WeChatConnector(Connector):
    """What OA, WeCom and 微信客服 connectors do alike: one access token for every process
    (``keep_token``, shared through Redis by ``use_shared_state``) and the URL check, a GET
    carrying ``echostr`` that ``echo`` verifies and answers."""

    tokens: TokenKeeper

    def keep_token(self, name: str, fetch_url: str, params: dict[str, str]) -> None:
        self.tokens = TokenKeeper(name, fetch_url, params, self.transport,
                                  timeout=(3.05, float(self.setting("timeout", 10))))

    def use_shared_state(self, redis) -> None:
        self.tokens.share(redis)

    def handshake(self, request: InboundRequest) -> str | None:
        return self.echo(request.args) if "echostr" in request.args else None

    def echo(self, args: dict[str, str]) -> str:
        """Check a URL verification query; the answer the vendor expects back."""
        raise NotImplementedError


def call_api(keeper: TokenKeeper, transport: Any, method: str, url: str, *,
             json_body: dict[str, Any] | None = None, params: dict[str, Any] | None = None) -> dict[str, Any]:
    """Call a token-authenticated API; an invalid token is refreshed once and the call retried once.

    A refusal answered with a token error never reached the send, so the single retry cannot
    duplicate a message.
    """
    for attempt in (1, 2):
        token = keeper.get()
        data = json_of(http_call(
            transport, method, url, timeout=keeper.timeout, params={**(params or {}), "access_token": token},
            data=json.dumps(json_body, ensure_ascii=False).encode() if json_body is not None else None,
            headers={"Content-Type": "application/json; charset=utf-8"} if json_body is not None else None))
        code = int(data.get("errcode") or 0)
        if code in TOKEN_INVALID and attempt == 1:
            keeper.invalidate(token)
            continue
        if code:
            raise error_for(code, str(data.get("errmsg", "")))
        return data
    raise AssertionError("unreachable")  # the loop returns or raises


def error_for(code: int, message: str) -> ConnectorError:
    """A vendor error code as a typed error (the tables above)."""
    text = f"wechat error {code}: {message}"
    if code in OUT_OF_WINDOW:
        return ConnectorError(text, fallback=True, code=code)
    if code in RATE_LIMITED:
        return ConnectorError(text, retryable=True, code=code, retry_after=RATE_LIMIT_BACKOFF_SECONDS)
    if code in RETRYABLE or code in TOKEN_INVALID:
        return ConnectorError(text, retryable=True, code=code)
    return ConnectorError(text, code=code)
