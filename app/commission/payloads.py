"""The one builder of the ``commission.earned`` realtime payload (its shape is pinned by a test)."""
from __future__ import annotations

from typing import Any

from app.customers.serialize import yuan
from app.i18n import t
from models import Attribution, Customer, Order, Staff


def earned_payload(*, kind: str, clerk: Staff, order: Order | None, customer: Customer | None,
                   attribution: Attribution | None, amount_fen: int, period: str,
                   reason: str | None = None) -> dict[str, Any]:
    """What a clerk's console shows the moment their commission moves ("你刚赚了 ¥12.80").

    ``kind`` is earned (an order was attributed to them), reversed (a refund) or adjusted (a
    manager's correction); ``amount`` is the signed change in yuan.
    """
    shown = yuan(abs(amount_fen)) if kind == "reversed" else yuan(amount_fen)
    if kind == "earned" and attribution is not None and attribution.rule == "link" and customer is not None:
        # The personal page sold it: say who and how much ("王女士 通过你的链接下单 ¥368，提成 ¥11.04").
        message = t("commission.toast.earned_link", locale=clerk.locale, name=customer.name,
                    sales=yuan(attribution.sales_fen), amount=shown)
    else:
        message = t(f"commission.toast.{kind}", locale=clerk.locale, amount=shown, reason=reason or "")
    return {
        "kind": kind,
        "clerk_id": clerk.id,
        "amount": yuan(amount_fen),
        "period": period,
        "message": message,
        "order": None if order is None else {
            "id": order.id, "external_id": order.external_id, "status": getattr(order.status, "value", order.status),
            "amount": yuan(order.amount_fen), "refund_amount": yuan(order.refund_amount_fen),
            "paid_at": order.paid_at.isoformat() if order.paid_at else None},
        "customer": None if customer is None else {"id": customer.id, "name": customer.name},
        "rule": attribution.rule if attribution else None,
        "share_bp": attribution.share_bp if attribution else None,
        "sales": yuan(attribution.sales_fen) if attribution else None,
        "reason": reason,
    }
