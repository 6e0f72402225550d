"""Monthly targets through the API: who may set whose, what each reader sees, the history a
change keeps, bad input named entry by entry, idempotency, and the clerk's progress in
``/api/v1/commission`` moving as orders arrive from an integrator."""
from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from app.targets.progress import progress
from models import SalesTarget, Staff
from tests.conftest import signed_in

NOV = "2026-11"


def put(client, targets, period=NOV):
    return client.put("/api/v1/targets", json={"period": period, "targets": targets})


def rows(body) -> dict[str, dict]:
    return {t.get("clerk") or f"store:{t['store']}": t for t in body["targets"]}


def target_rows(db) -> int:
    with db.Session() as s:
        return s.scalar(select(func.count()).select_from(SalesTarget))


def order(external_id: str, amount: str, paid_at: str, **extra) -> dict:
    return {"external_id": external_id, "customer": "CU-1", "store": "S-JA", "status": "paid",
            "created_at": paid_at, "paid_at": paid_at, "amount": amount,
            "items": [{"sku": "CREAM", "quantity": 1, "price": amount}], **extra}


def test_head_office_sets_clerks_and_stores_and_each_reader_sees_their_scope(app, db, brand):
    hq = signed_in(app, "hq")
    resp = put(hq, [{"clerk": "clerk1", "amount": "5000.00"}, {"clerk": "E-002", "amount": "3000"},
                    {"store": "静安店", "amount": "20000.00", "new_customers": 10, "reactivations": 5},
                    {"store": "S-XH", "amount": "15000.50"}])
    assert resp.status_code == 200, resp.get_json()
    assert (resp.get_json()["changed"], resp.get_json()["unchanged"]) == (4, 0)

    everything = rows(hq.get(f"/api/v1/targets?period={NOV}").get_json())
    assert set(everything) == {"store:S-JA", "store:S-XH", "clerk1", "clerk2", "clerk9"}
    assert everything["clerk2"]["amount"] == "3000.00" and everything["clerk2"]["name"] == "小李"
    assert everything["store:S-JA"]["target_new_customers"] == 10
    assert everything["store:S-XH"]["amount"] == "15000.50" and everything["clerk9"]["amount"] is None

    store = rows(signed_in(app, "manager1").get(f"/api/v1/targets?period={NOV}").get_json())
    assert set(store) == {"store:S-JA", "clerk1", "clerk2"}
    own = signed_in(app, "clerk1").get(f"/api/v1/targets?period={NOV}").get_json()
    assert [(t["clerk"], t["amount"], t["gap"]) for t in own["targets"]] == [("clerk1", "5000.00", "5000.00")]
    assert own["days_left"] == 13


def test_a_manager_sets_their_clerks_and_is_refused_for_another_store(app, db, brand):
    manager = signed_in(app, "manager1")
    assert put(manager, [{"clerk": "clerk1", "amount": "4000"}, {"store": "S-JA", "amount": "9000"}]).status_code == 200
    refused = put(manager, [{"clerk": "clerk2", "amount": "1000"}, {"clerk": "clerk9", "amount": "1000"},
                            {"store": "徐汇店", "amount": "1000"}])
    assert refused.status_code == 403
    assert set(refused.get_json()["fields"]) == {"targets[1].clerk", "targets[2].store"}
    assert target_rows(db) == 2  # clerk2's valid entry did not land either
    assert put(signed_in(app, "clerk1"), [{"clerk": "clerk1", "amount": "99999"}]).status_code == 403
    assert put(signed_in(app, "manager2"), [{"clerk": "clerk9", "amount": "1000"}]).status_code == 200


def test_a_change_keeps_the_history_and_the_same_put_twice_changes_nothing(app, db, brand):
    assert put(signed_in(app, "hq"), [{"clerk": "clerk1", "amount": "5000"}]).get_json()["changed"] == 1
    manager = signed_in(app, "manager1")
    assert put(manager, [{"clerk": "clerk1", "amount": "6000.00"}]).get_json()["changed"] == 1
    again = put(manager, [{"clerk": "clerk1", "amount": "6000"}])
    assert (again.get_json()["changed"], again.get_json()["unchanged"]) == (0, 1)
    assert target_rows(db) == 2

    [mine] = signed_in(app, "clerk1").get(f"/api/v1/targets?period={NOV}").get_json()["targets"]
    assert mine["amount"] == "6000.00"
    newest, older = mine["history"]
    assert (newest["amount"], newest["set_by"], newest["current"], newest["superseded_at"]) == \
        ("6000.00", "赵店长", True, None)
    assert (older["amount"], older["set_by"], older["current"]) == ("5000.00", "总部运营", False)
    assert older["superseded_at"] is not None
    # Another month is its own target.
    assert put(manager, [{"clerk": "clerk1", "amount": "6000"}], period="2026-12").get_json()["changed"] == 1


def test_bad_input_names_each_entry_and_writes_nothing(app, db, brand):
    hq = signed_in(app, "hq")
    resp = put(hq, [{"clerk": "clerk1", "amount": "5000"},           # fine, but does not land
                    {"clerk": "clerk2", "amount": "-1"},
                    {"clerk": "nobody", "amount": "100"},
                    {"amount": "100"},
                    {"clerk": "clerk2", "store": "S-JA", "amount": "100"},
                    {"clerk": "clerk9", "amount": "1.234", "new_customers": -3},
                    {"clerk": "clerk1", "amount": "6000"},
                    "clerk1"], period="2026-13")
    assert resp.status_code == 422
    assert set(resp.get_json()["fields"]) == {
        "period", "targets[1].amount", "targets[2].clerk", "targets[3]", "targets[4]", "targets[5].amount",
        "targets[5].new_customers", "targets[6]", "targets[7]"}
    assert "5000.00" in resp.get_json()["fields"]["targets[1].amount"]  # the reason shows the format
    assert target_rows(db) == 0
    for body in ({}, {"period": NOV}, {"period": NOV, "targets": []}, []):
        bad = hq.put("/api/v1/targets", json=body)
        assert bad.status_code == 422 and bad.get_json()["fields"]
    assert hq.get("/api/v1/targets?period=2026-1").status_code == 422


def test_targets_upload_as_csv_through_the_same_action(app, db, brand):
    hq = signed_in(app, "hq")
    bad = hq.put(f"/api/v1/targets?period={NOV}", data="clerk,amount\nclerk1,5000\nclerk2,abc\n",
                 content_type="text/csv")
    assert bad.status_code == 422 and set(bad.get_json()["fields"]) == {"targets[1].amount"}
    no_header = hq.put(f"/api/v1/targets?period={NOV}", data="clerk1,5000\n", content_type="text/csv")
    assert no_header.status_code == 422 and set(no_header.get_json()["fields"]) == {"targets"}
    good = hq.put(f"/api/v1/targets?period={NOV}", content_type="text/csv",
                  data="\ufeffclerk,store,amount,new_customers\nclerk1,,5000,3\n,S-XH,12000.5,\n")
    assert good.status_code == 200 and good.get_json()["changed"] == 2
    seen = rows(good.get_json())
    assert (seen["clerk1"]["amount"], seen["clerk1"]["target_new_customers"]) == ("5000.00", 3)
    assert seen["store:S-XH"]["amount"] == "12000.50"
    pasted = hq.put("/api/v1/targets", content_type="multipart/form-data",  # head office's paste box
                    data={"period": NOV, "file": (io.BytesIO(b"clerk,amount\nclerk1,5000\nclerk2,800\n"), "t.csv")})
    assert pasted.status_code == 200 and pasted.get_json()["changed"] == 2  # a line sets the whole target:
    assert rows(pasted.get_json())["clerk1"]["target_new_customers"] is None  # no count given, none kept


def test_the_clerk_sells_and_sees_achieved_gap_and_pace_move(app, db, brand, client, bearer, clock):
    assert put(signed_in(app, "hq"), [{"clerk": "clerk1", "amount": "5000.00"},
                                      {"store": "S-JA", "amount": "10000"}]).status_code == 200
    clerk = signed_in(app, "clerk1")
    before = clerk.get(f"/api/v1/commission?period={NOV}").get_json()
    assert {k: before[k] for k in ("target", "achieved", "gap", "days_left", "pace_per_day")} == {
        "target": "5000.00", "achieved": "0.00", "gap": "5000.00", "days_left": 13, "pace_per_day": "384.62"}
    assert before["month"]["sales"] == "0.00"  # the existing fields are still there

    sent = client.post("/api/v1/orders", headers=bearer, json=[
        order("POS-1", "268.00", "2026-11-18T09:00:00+08:00"),
        order("POS-2", "1000.00", "2026-11-01T00:10:00"),           # brand time: November
        order("POS-0", "700.00", "2026-10-31T23:50:00+08:00")])    # October in Shanghai
    assert sent.status_code == 200 and sent.get_json()["accepted"] == 3, sent.get_json()
    after = clerk.get(f"/api/v1/commission?period={NOV}").get_json()
    assert (after["achieved"], after["gap"], after["pace_per_day"]) == ("1268.00", "3732.00", "287.08")
    assert after["achieved"] == after["month"]["net_sales"]  # the earnings screen's own figure

    # A refund takes the sale back off the target.
    client.post("/api/v1/orders", headers=bearer, json=[order("POS-1", "268.00", "2026-11-18T09:00:00+08:00",
                                                               status="refunded", refund_amount="268.00")])
    clock.freeze("2026-11-30 20:00")
    last_day = clerk.get(f"/api/v1/commission?period={NOV}").get_json()
    assert (last_day["achieved"], last_day["gap"], last_day["days_left"], last_day["pace_per_day"]) == \
        ("1000.00", "4000.00", 1, "4000.00")
    store = rows(signed_in(app, "manager1").get(f"/api/v1/targets?period={NOV}").get_json())["store:S-JA"]
    assert (store["achieved"], store["gap"], store["attainment"]) == ("1000.00", "9000.00", 0.1)

    no_target = signed_in(app, "clerk2").get(f"/api/v1/commission?period={NOV}").get_json()
    assert (no_target["target"], no_target["gap"], no_target["pace_per_day"], no_target["achieved"]) == \
        (None, None, None, "0.00")


@pytest.mark.parametrize(("period", "days", "pace"), [("2026-10", 0, None), ("2026-12", 31, "161.30")])
def test_progress_of_a_month_over_or_to_come(app, db, brand, period, days, pace):
    put(signed_in(app, "hq"), [{"clerk": "clerk1", "amount": "5000"}], period=period)
    with app.app_context(), db.Session() as s:
        figures = progress(s, s.get(Staff, brand.clerk1), period)
    assert (figures["period"], figures["gap"], figures["days_left"], figures["pace_per_day"]) == \
        (period, "5000.00", days, pace)
