"""Images a clerk sends in chat: checked by content (not by name), size-limited, served to staff only.

Files are stored under ``<instance>/uploads/`` named by their SHA-256, so the same picture sent
twice is stored once and a name can never point outside the folder.
"""
from __future__ import annotations

import hashlib
import re
from pathlib import Path

from flask import Blueprint, abort, current_app, jsonify, request, send_from_directory

from app.auth import staff_required
from app.errors import Invalid

bp = Blueprint("console_uploads", __name__)

# Magic numbers of the image formats every channel we speak accepts.
_SIGNATURES = (
    (b"\xff\xd8\xff", "jpg", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "png", "image/png"),
    (b"GIF87a", "gif", "image/gif"),
    (b"GIF89a", "gif", "image/gif"),
)
_MIMETYPES = {"jpg": "image/jpeg", "png": "image/png", "gif": "image/gif", "webp": "image/webp"}
_NAME = re.compile(r"^[0-9a-f]{64}\.(jpg|png|gif|webp)$")


def image_kind(head: bytes) -> str | None:
    """The file extension for a supported image, judged from its first bytes; else None."""
    for magic, ext, _mime in _SIGNATURES:
        if head.startswith(magic):
            return ext
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    return None


def upload_dir() -> Path:
    return Path(current_app.config["INSTANCE_DIR"]) / "uploads"


@bp.post("/api/v1/uploads")
@staff_required()
def upload():
    limit = current_app.config["UPLOAD_MAX_BYTES"]
    if request.content_length is not None and request.content_length > limit + 4096:
        raise Invalid("file too large", {"file": f"at most {limit // (1024 * 1024)} MB"})
    file = request.files.get("file")
    if file is None:
        raise Invalid("no file", {"file": "required (multipart field 'file')"})
    data = file.stream.read(limit + 1)
    if len(data) > limit:
        raise Invalid("file too large", {"file": f"at most {limit // (1024 * 1024)} MB"})
    ext = image_kind(data[:16])
    if ext is None:
        raise Invalid("not a supported image", {"file": "JPEG, PNG, GIF or WebP only"})
    name = f"{hashlib.sha256(data).hexdigest()}.{ext}"
    folder = upload_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    if not path.exists():
        tmp = path.with_suffix(".part")
        tmp.write_bytes(data)
        tmp.replace(path)
    return jsonify({"url": f"/uploads/{name}", "type": _MIMETYPES[ext], "size": len(data)}), 201


@bp.get("/uploads/<name>")
@staff_required()
def uploaded(name: str):
    if not _NAME.match(name):
        abort(404)
    resp = send_from_directory(upload_dir(), name, mimetype=_MIMETYPES[name.rsplit(".", 1)[1]], max_age=86400)
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Content-Security-Policy"] = "default-src 'none'"
    resp.cache_control.private = True
    return resp
