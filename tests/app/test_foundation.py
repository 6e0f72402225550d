import json
import logging

import pytest
from click.testing import CliRunner

from app.logs import JsonFormatter, redact
from tests import factories as f


def test_healthz_reports_database(client):
    resp = client.get("/healthz")
    assert resp.status_code == 200
    assert resp.get_json() == {"status": "ok", "database": "ok", "redis": "not configured"}


def test_healthz_reports_redis_when_configured(app_factory, redis_url):
    app = app_factory(REDIS_URL=redis_url)
    assert app.test_client().get("/healthz").get_json()["redis"] == "ok"


def test_healthz_degrades_when_redis_is_down(app_factory):
    from tests.services import free_port

    app = app_factory(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    resp = app.test_client().get("/healthz")
    assert resp.status_code == 503
    assert resp.get_json()["redis"].startswith("error")


def test_init_db_is_idempotent(app):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["init-db"])
    second = runner.invoke(args=["init-db"])
    assert first.exit_code == 0 and second.exit_code == 0, first.output + second.output
    assert "database at revision" in second.output


def test_init_db_migrates_an_empty_database(app_factory, tmp_path):
    app = app_factory(f"sqlite:///{tmp_path}/fresh.sqlite3")
    result = app.test_cli_runner().invoke(args=["init-db"])
    assert result.exit_code == 0, result.output
    assert app.test_client().get("/healthz").status_code == 200


@pytest.mark.parametrize("args", [["outbox", "status"], ["demo-logins"], ["model", "report"], ["retag"]])
def test_a_command_on_a_database_never_migrated_says_so_in_one_line(app_factory, tmp_path, args):
    app = app_factory(f"sqlite:///{tmp_path}/never-migrated.sqlite3")
    result = app.test_cli_runner().invoke(args=args)
    assert result.exit_code == 1
    assert result.output.strip() == "database not initialised: run `flask init-db`"
    assert "Traceback" not in result.output


def test_login_me_logout(client, auth, db):
    with db.transaction() as s:
        f.staff(s, username="clerk9", store=f.store(s))
    assert auth.login("clerk9", "wrong").status_code == 401
    assert auth.login("nobody", "demo").status_code == 401
    resp = auth.login("clerk9")
    assert resp.status_code == 200
    assert resp.get_json()["me"]["role"] == "clerk"
    assert client.get("/api/v1/me").get_json()["me"]["username"] == "clerk9"
    auth.logout()
    assert client.get("/api/v1/me").status_code == 401


def test_login_names_missing_fields(client):
    resp = client.post("/auth/login", json={"username": ""})
    assert resp.status_code == 422
    assert set(resp.get_json()["fields"]) == {"username", "password"}


def test_state_changing_request_without_csrf_token_is_refused(client, auth, db):
    with db.transaction() as s:
        f.staff(s, username="clerk9", store=f.store(s))
    auth.login("clerk9")
    token = client.environ_base.pop("HTTP_X_CSRF_TOKEN")
    assert client.post("/api/v1/me/locale", json={"locale": "en"}).status_code == 403
    resp = client.post("/api/v1/me/locale", json={"locale": "en"}, headers={"X-CSRF-Token": token})
    assert resp.status_code == 200


def test_errors_are_translated(client):
    assert client.post("/auth/login?lang=en", json={"username": "x", "password": "y"}).get_json()["error"] == "Wrong username or password"
    assert client.post("/auth/login", json={"username": "x", "password": "y"}).get_json()["error"] == "用户名或密码不正确"


def test_staff_add_and_api_token_cli(app, db):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["staff", "add", "hq2", "--role", "hq", "--password", "pw"]).exit_code == 0
    missing_store = runner.invoke(args=["staff", "add", "c2", "--role", "clerk"])
    assert missing_store.exit_code != 0 and "--store" in missing_store.output
    token = runner.invoke(args=["api-token", "create", "pos"]).output.strip()
    assert token.startswith("dg_")
    client = app.test_client()
    assert client.get("/api/v1/customers/1", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    from sqlalchemy import select

    from models import ApiToken
    with db.Session() as s:
        stored = s.scalars(select(ApiToken)).one()
    assert token not in (stored.token_hash, stored.prefix)


def test_logs_are_json_and_redact_secrets():
    record = logging.makeLogRecord({"msg": "call Bearer abc.def", "name": "daogou.x", "levelname": "INFO",
                                    "password": "p", "appsecret": "s", "path": "/x"})
    line = json.loads(JsonFormatter().format(record))
    assert line["msg"] == "call Bearer ***"
    assert line["password"] == "***" and line["appsecret"] == "***" and line["path"] == "/x"
    assert redact({"token": "t", "nested": {"api_key": "k", "ok": 1}}) == {"token": "***", "nested": {"api_key": "***", "ok": 1}}
