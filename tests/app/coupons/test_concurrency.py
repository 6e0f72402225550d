"""50 orders presenting one coupon code at the same instant: exactly one redeems it."""
from __future__ import annotations

import threading

from sqlalchemy import func, select

from models import Order
from models.coupons import Coupon
from tests.app.coupons.conftest import order_body

CONCURRENT = 50


def test_fifty_concurrent_orders_with_one_code_redeem_it_exactly_once(app, api, db, bearer):
    code = api.code_for()
    start = threading.Barrier(CONCURRENT)
    answers: list[dict] = [{}] * CONCURRENT
    errors: list[BaseException] = []

    def place(i: int) -> None:
        client = app.test_client()  # one client per thread: the test client is not shared
        try:
            start.wait(timeout=30)
            r = client.post("/api/v1/orders", headers=bearer, json=[order_body(f"RACE-{i}", code=code)])
            answers[i] = {"status": r.status_code, **r.get_json()}
        except BaseException as exc:  # noqa: BLE001 - reported below, the test fails on it
            errors.append(exc)

    threads = [threading.Thread(target=place, args=(i,)) for i in range(CONCURRENT)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors and all(a["status"] == 200 for a in answers)
    winners = [i for i, a in enumerate(answers) if a["accepted"] == 1]
    assert len(winners) == 1
    losers = [a["rejected"][0]["fields"] for a in answers if a["accepted"] == 0]
    assert len(losers) == CONCURRENT - 1 and all(list(f) == ["coupon_code"] for f in losers)
    assert all("已被使用" in f["coupon_code"] for f in losers)
    with db.Session() as s:
        assert s.scalar(select(func.count()).select_from(Order)) == 1  # nothing of the refused orders
        coupon = s.scalar(select(Coupon).where(Coupon.code == code))
        won = s.scalar(select(Order).where(Order.external_id == f"RACE-{winners[0]}"))
        assert (coupon.state, coupon.order_id) == ("redeemed", won.id)
