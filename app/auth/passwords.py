"""What a staff password must be, and setting one.

A password someone else chose (a new account) or a weak one (the demo's ``demo``) leaves the
account with ``must_change_password``; ``/api/v1/me`` reports it and the staff member sets their
own through ``POST /api/v1/me/password``.
"""
from __future__ import annotations

from typing import Any

from werkzeug.security import generate_password_hash

from app.i18n import t
from models import Staff

MIN_LENGTH = 8
MAX_LENGTH = 128  # hashing time grows with the length; nobody types more
# The passwords tried first by anyone guessing (the demo's among them), at or above MIN_LENGTH
# or not: a password in this list is weak whatever its length.
COMMON = frozenset({
    "demo", "daogou", "daogou123", "password", "password1", "passw0rd", "admin123", "12345678",
    "123456789", "1234567890", "87654321", "11111111", "00000000", "66666666", "88888888",
    "12341234", "abc12345", "abcd1234", "a1234567", "aa123456", "qwerty123", "qwertyui",
    "1qaz2wsx", "zxcvbnm1", "iloveyou", "woaini1314", "5201314520",
})


def weakness(password: Any, username: str = "") -> str | None:
    """Why ``password`` may not be chosen (translated), or None."""
    if not isinstance(password, str) or len(password) < MIN_LENGTH:
        return t("auth.password_too_short", min=MIN_LENGTH)
    if len(password) > MAX_LENGTH:
        return t("auth.password_too_long", max=MAX_LENGTH)
    folded = password.lower()
    if folded in COMMON or folded == username.lower() or len(set(folded)) < 4:
        return t("auth.password_too_common")
    return None


def is_weak(password: str, username: str = "") -> bool:
    return weakness(password, username) is not None


def set_password(staff: Staff, password: str, *, chosen_by_owner: bool) -> None:
    """Store the hash; a password the staff member chose themselves clears the must-change flag.

    Every session begun with the old password ends (the generation moves on).
    """
    staff.password_hash = generate_password_hash(password)
    staff.must_change_password = not chosen_by_owner or is_weak(password, staff.username)
    staff.session_version = (staff.session_version or 0) + 1
