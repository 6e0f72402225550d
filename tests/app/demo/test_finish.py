"""seed-demo leaves head office's set-up behind, so every screen of the demo shows real data."""
from sqlalchemy import func, select

from models import CareTask, CareTaskTarget, CommissionEntry, Segment, Staff


def test_seed_demo_sets_up_commission_segments_and_a_care_task(app, db, client, auth):
    result = app.test_cli_runner().invoke(args=["seed-demo", "--customers", "300", "--seed", "5",
                                                "--now", "2026-11-22T06:00:00+00:00"])
    assert result.exit_code == 0, result.output
    with db.Session() as s:
        assert s.scalar(select(func.count()).select_from(Segment)) == 7
        assert s.scalar(select(func.count()).select_from(CommissionEntry)) > 0
        task = s.scalars(select(CareTask)).one()
        assert task.status == "open"
        clerk1 = s.scalar(select(Staff.id).where(Staff.username == "clerk1"))
        clerk1_earned = s.scalar(select(func.sum(CommissionEntry.amount_fen))
                                 .where(CommissionEntry.clerk_id == clerk1))
        assert s.scalar(select(func.count()).select_from(CareTaskTarget)) > 0
    assert clerk1_earned and clerk1_earned > 0
    auth.login("clerk1")
    assert client.get("/api/v1/tasks").get_json()["tasks"][0]["title"] == "休眠高价值老客唤醒"
    auth.logout()
    auth.login("hq")
    hq_segments = client.get("/api/v1/segments").get_json()
    names = [seg["name"] for seg in hq_segments["segments"]]
    assert "复购两次以上" in names and "收货地址含学校" in names
    preview = client.post("/api/v1/segments/preview", json={"filter": next(
        seg["filter"] for seg in hq_segments["segments"] if seg["name"] == "复购两次以上")}).get_json()
    assert preview["count"] > 0
