"""Which drafts work: per source and template variant, how often they were sent as is, replied to, bought from."""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from app.drafts.fallbacks import fallback_rows
from models.drafting import Draft, DraftOutcome


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def draft_stats(session: Session, since: dt.datetime, scenario: str | None = None) -> dict[str, Any]:
    """One aggregate query grouped by source, scenario and variant; rates computed from the counts.

    sent_as_is_rate = sent as is / drafted; reply_rate and buy_rate are over the drafts that were
    sent (as is or edited), since an unsent draft cannot be answered.
    """
    def count_if(condition):
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    query = (select(Draft.source, Draft.scenario, Draft.template_variant, func.count(Draft.id),
                    count_if(Draft.outcome == DraftOutcome.sent_as_is), count_if(Draft.outcome == DraftOutcome.edited),
                    count_if(Draft.outcome == DraftOutcome.discarded), count_if(Draft.replied_at.is_not(None)),
                    count_if(Draft.bought_order_id.is_not(None)), count_if(Draft.fallback_reason.is_not(None)))
             .where(Draft.created_at >= since)
             .group_by(Draft.source, Draft.scenario, Draft.template_variant))
    if scenario:
        query = query.where(Draft.scenario == scenario)
    rows = []
    totals: dict[str, dict[str, int]] = {}
    for source, scen, variant, drafted, as_is, edited, discarded, replied, bought, fell_back in session.execute(query):
        counts = {"drafted": drafted, "sent_as_is": as_is, "edited": edited, "discarded": discarded,
                  "replied": replied, "bought": bought, "fallbacks": fell_back}
        rows.append({"source": source.value, "scenario": scen, "variant": variant, **counts, **_rates(counts)})
        total = totals.setdefault(source.value, dict.fromkeys(counts, 0))
        for key, value in counts.items():
            total[key] += value
    rows.sort(key=lambda r: (r["scenario"], r["source"], r["variant"] or ""))
    fallback_reasons = dict(session.execute(
        select(Draft.fallback_reason, func.count(Draft.id)).where(Draft.created_at >= since,
                                                                  Draft.fallback_reason.is_not(None))
        .group_by(Draft.fallback_reason)).all())
    return {"since": since.isoformat(), "rows": rows,
            "by_source": {k: {**v, **_rates(v)} for k, v in sorted(totals.items())},
            "fallback_reasons": fallback_reasons, "fallbacks": fallback_rows(fallback_reasons)}


def _rates(c: dict[str, int]) -> dict[str, float | None]:
    sent = c["sent_as_is"] + c["edited"]
    return {"sent_as_is_rate": _rate(c["sent_as_is"], c["drafted"]), "edit_rate": _rate(c["edited"], c["drafted"]),
            "discard_rate": _rate(c["discarded"], c["drafted"]),
            "reply_rate": _rate(c["replied"], sent), "buy_rate": _rate(c["bought"], sent)}
