"""Login throttling (登录限速) per username and per client address, on the shared counters.

Five wrong passwords for one username within 15 minutes lock that username; each lockout within a
day lasts twice the one before (15 min, 30 min, 1 h … at most 4 h). One address may fail 30
times in 15 minutes over any usernames: a shop's Wi-Fi is one address for all its clerks, so it is
higher. While locked, attempts are answered 429 with when to retry, and the password is not
even checked, so guessing gains nothing. A right password clears its username's failures; an
address's failures stay (a guesser must not clear them by logging in to an account of its own).

The counters are in-process in the embedded mode and in Redis when scaled out, so every server
process sees the same failures. A failure slot is taken *before* the password is checked: a burst
of parallel guesses cannot all slip in before the fifth failure is counted.
"""
from __future__ import annotations

import datetime as dt
import math

from flask import current_app, request

from app.config import brand_timezone
from app.counters import counters
from app.errors import TooManyAttempts
from app.i18n import t
from models import utcnow

FAILURE_WINDOW = 15 * 60
FAILURES_PER_USERNAME = 5
FAILURES_PER_ADDRESS = 30
LOCKOUT_BASE = 15 * 60
LOCKOUT_MAX = 4 * 3600
LOCKOUT_MEMORY = 24 * 3600  # lockouts within this long make the next one longer
_UNBOUNDED = 1_000_000      # ``acquire`` as a plain hit recorder


def _limit(name: str, default: int) -> int:
    return int(current_app.config.get(name, default))


def _user(username: str) -> str:
    return username.strip().lower()[:64]


def client_address() -> str:
    return request.remote_addr or "unknown"


def lockout_seconds(lockouts: int) -> float:
    """How long the ``lockouts``-th lockout within a day lasts."""
    return float(min(LOCKOUT_BASE * 2 ** max(lockouts - 1, 0), LOCKOUT_MAX))


def _locked_for(username: str) -> float:
    c, key = counters(), f"login:lock:{_user(username)}"
    lockouts = c.count(key, LOCKOUT_MEMORY)
    return c.retry_after(key, 1, lockout_seconds(lockouts)) if lockouts else 0.0


def _refuse(wait: float) -> TooManyAttempts:
    wait = max(1, math.ceil(wait))
    until = (utcnow() + dt.timedelta(seconds=wait)).astimezone(brand_timezone()).strftime("%H:%M")
    return TooManyAttempts(t("auth.too_many_attempts", minutes=math.ceil(wait / 60), time=until),
                           headers={"Retry-After": str(wait)})


def begin_attempt(username: str) -> None:
    """Raise ``TooManyAttempts`` (429) when this username or address is locked; else count the
    attempt as a failure until ``succeeded`` says otherwise."""
    c = counters()
    wait = _locked_for(username)
    if wait:
        raise _refuse(wait)
    per_address = _limit("LOGIN_FAILURES_PER_ADDRESS", FAILURES_PER_ADDRESS)
    address_key = f"login:fail:addr:{client_address()}"
    if c.count(address_key, FAILURE_WINDOW) >= per_address:
        raise _refuse(c.retry_after(address_key, per_address, FAILURE_WINDOW))
    per_user = _limit("LOGIN_FAILURES_PER_USERNAME", FAILURES_PER_USERNAME)
    user_key = f"login:fail:user:{_user(username)}"
    if not c.acquire(user_key, per_user, FAILURE_WINDOW):
        raise _refuse(_locked_for(username) or c.retry_after(user_key, per_user, FAILURE_WINDOW))


def failed(username: str) -> None:
    """The password was wrong: the address counts it too, and the fifth failure starts a lockout."""
    c = counters()
    c.acquire(f"login:fail:addr:{client_address()}", _UNBOUNDED, FAILURE_WINDOW)
    per_user = _limit("LOGIN_FAILURES_PER_USERNAME", FAILURES_PER_USERNAME)
    if c.count(f"login:fail:user:{_user(username)}", FAILURE_WINDOW) >= per_user and not _locked_for(username):
        c.acquire(f"login:lock:{_user(username)}", _UNBOUNDED, LOCKOUT_MEMORY)


def succeeded(username: str) -> None:
    counters().reset(f"login:fail:user:{_user(username)}")
