"""WeChat callback crypto written from the vendor document, independently of our connectors,
to build the signed and encrypted callbacks the tests send.

https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Message_encryption_and_decryption_instructions.html
"""
from __future__ import annotations

import base64
import hashlib
import os
import struct
import time

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"  # 43 chars, as WeChat issues them
TOKEN = "cb-token"


def sha1_sign(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def encrypt(plain: str, receive_id: str, aes_key: str = AES_KEY) -> str:
    key = base64.b64decode(aes_key + "=")
    raw = os.urandom(16) + struct.pack(">I", len(plain.encode())) + plain.encode() + receive_id.encode()
    pad = 32 - len(raw) % 32
    raw += bytes([pad]) * pad
    enc = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(enc.update(raw) + enc.finalize()).decode()


def plain_query(token: str = TOKEN, timestamp: int | None = None, nonce: str = "n1") -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    return {"timestamp": ts, "nonce": nonce, "signature": sha1_sign(token, ts, nonce), "openid": "o"}


def safe_callback(xml: str, receive_id: str, token: str = TOKEN, timestamp: int | None = None,
                  nonce: str = "n2", aes_key: str = AES_KEY, oa: bool = True) -> tuple[dict[str, str], bytes]:
    """(query, body) of an encrypted callback; ``oa`` adds the plain signature OA also sends."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    encrypted = encrypt(xml, receive_id, aes_key)
    query = {"timestamp": ts, "nonce": nonce, "msg_signature": sha1_sign(token, ts, nonce, encrypted)}
    if oa:
        query.update(signature=sha1_sign(token, ts, nonce), encrypt_type="aes")
    body = (f"<xml><ToUserName><![CDATA[{receive_id}]]></ToUserName>"
            f"<Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>").encode()
    return query, body
