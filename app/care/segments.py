"""The customers of a saved segment, as a SELECT of ids (never loaded into Python to filter)."""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from app.config import brand_timezone
from assistant.segments import compile_filter
from connectors.registry import channel_kinds
from models import Customer, utcnow


def segment_customer_ids(session: Session, filter_: dict[str, Any],
                         now: dt.datetime | None = None) -> Select[tuple[int]]:
    tz = brand_timezone()
    return select(Customer.id).where(compile_filter(filter_, now or utcnow(), tz, channels=channel_kinds()))
