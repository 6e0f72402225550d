"""The head-office overview: attributed sales by the brand's days, clerks' contacts and customers'
replies, waiting customers, open tasks; a store manager sees their store only."""
from __future__ import annotations

import datetime as dt

from models import Attribution, Role, clock
from app.messaging.actions import receive_message, send_message
from tests import factories as f


def test_overview_counts_sales_contacts_and_replies_by_brand_day_and_scope(app, db, auth, client):
    at = clock.now()
    with app.app_context(), db.transaction() as s:
        jingan, xuhui = f.store(s, name="静安店"), f.store(s, name="徐汇店")
        a1 = f.staff(s, store=jingan, username="a1")
        f.staff(s, role=Role.manager, store=xuhui, username="m2")
        f.staff(s, role=Role.hq, username="hq1")
        wang = f.customer(s, name="王女士")
        f.follow(s, wang, a1, channel="loopback")
        f.identity(s, wang, "loopback", "lb-wang")
        # Paid at 23:30 Shanghai yesterday = 15:30 UTC: it belongs to yesterday, not today.
        late = (at.astimezone(dt.timezone(dt.timedelta(hours=8))).replace(hour=23, minute=30) - dt.timedelta(days=1))
        order = f.order(s, wang, paid_at=late.astimezone(dt.timezone.utc))
        s.add(Attribution(order_id=order.id, clerk_id=a1.id, rule="owner", store_id=jingan.id,
                          period=late.strftime("%Y-%m"), sales_fen=26800, commissionable_fen=26800))
        receive_message(s, channel="loopback", external_id="in-1", customer_id=wang.id, body="在吗")
        send_message(s, clerk_id=a1.id, customer_id=wang.id, body="在的", client_id="dash-0001")
    auth.login("hq1")
    data = client.get("/api/v1/dashboard?days=7").get_json()
    yesterday, today = data["days"][-2], data["days"][-1]
    assert (yesterday["sales"], yesterday["orders"]) == ("268.00", 1)
    assert today["sales"] == "0.00" and (today["contacts"], today["replies"]) == (1, 1)
    assert data["totals"]["contacts"] == 1 and data["totals"]["waiting_now"]["count"] == 0
    auth.logout()
    auth.login("m2")  # another store's manager: none of it is theirs
    other = client.get("/api/v1/dashboard?days=7").get_json()
    assert other["days"][-2]["sales"] == "0.00" and other["totals"]["contacts"] == 0
    assert client.get("/api/v1/dashboard?days=abc").status_code == 422
