"""The "shared link" attribution rule's facts: which personal link an order's ``ref`` names, and
when its products were clicked (``assistant.attribution.link_candidates`` decides from them).

``ref`` is an order column the order API fills (a link's short code or its token); before that
column exists the rule simply names nobody.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app.db import chunks
from app.links.actions import CODE_SHAPE, TOKEN_SHAPE, hash_token
from app.links.settings import load as link_settings
from assistant import attribution as attr
from models import Order
from models.links import LinkEvent, PersonalLink

REF_COLUMN = getattr(Order, "ref", None)
CLICK_KINDS = ("click", "buy")


def _link_keys(refs: pd.Series) -> pd.DataFrame:
    """order_id → the code or token hash each ref stands for (malformed refs dropped)."""
    rows = []
    for order_id, ref in refs.items():
        text = str(ref).strip()
        if CODE_SHAPE.fullmatch(text.upper()):
            rows.append((order_id, "code", text.upper()))
        elif TOKEN_SHAPE.fullmatch(text):
            rows.append((order_id, "token_hash", hash_token(text)))
    return pd.DataFrame(rows, columns=["order_id", "by", "key"])


def link_candidates(session: Session, orders: pd.DataFrame) -> pd.DataFrame:
    """order_id, link (the link's clerk), link_at (the deciding click) for the orders that came
    through a personal link; ``orders`` carries order_id, customer_id, paid_at and ref."""
    if "ref" not in orders or not orders["ref"].notna().any():
        return attr.link_candidates(orders, pd.DataFrame(), 0)
    keys = _link_keys(orders.set_index("order_id")["ref"].dropna())
    links: list[tuple] = []
    for chunk in chunks(keys.to_dict("records"), 2000):
        codes = [k["key"] for k in chunk if k["by"] == "code"]
        hashes = [k["key"] for k in chunk if k["by"] == "token_hash"]
        links += session.execute(select(PersonalLink.id, PersonalLink.code, PersonalLink.token_hash,
                                        PersonalLink.customer_id, PersonalLink.clerk_id)
                                 .where(or_(PersonalLink.code.in_(codes), PersonalLink.token_hash.in_(hashes)))).all()
    if not links:
        return attr.link_candidates(orders, pd.DataFrame(), 0)
    found = pd.DataFrame(links, columns=["link_id", "code", "token_hash", "customer_id", "clerk_id"])
    by_code = keys[keys["by"] == "code"].merge(found, left_on="key", right_on="code")
    by_token = keys[keys["by"] == "token_hash"].merge(found, left_on="key", right_on="token_hash")
    named = pd.concat([by_code, by_token], ignore_index=True)[["order_id", "link_id", "customer_id", "clerk_id"]]
    clicks = []
    for chunk in chunks(named["link_id"].unique().tolist(), 2000):
        clicks += session.execute(select(LinkEvent.link_id, LinkEvent.at).where(
            LinkEvent.link_id.in_(chunk), LinkEvent.kind.in_(CLICK_KINDS))).all()
    times = pd.DataFrame(clicks, columns=["link_id", "clicked_at"])
    times["clicked_at"] = pd.to_datetime(times["clicked_at"], utc=True)
    frame = named.merge(times, on="link_id")
    frame["order_id"] = frame["order_id"].astype(np.int64)
    days = link_settings(session)["click_window_days"]
    return attr.link_candidates(orders, frame[["order_id", "customer_id", "clerk_id", "clicked_at"]], days)
