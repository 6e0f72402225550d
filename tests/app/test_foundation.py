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


def test_redact_masks_secret_query_parameters_and_keeps_the_rest():
    line = '127.0.0.1 - - "POST /channels/sms/s1?token=s3cr3t&nonce=42&msg_signature=abc;%74oken=x HTTP/1.1" 200 -'
    assert redact(line) == ('127.0.0.1 - - "POST /channels/sms/s1?token=***&nonce=42&msg_signature=***;%74oken=*** '
                            'HTTP/1.1" 200 -')
    assert redact("GET /api/v1/commission?period=2026-11&clerk_id=3") == "GET /api/v1/commission?period=2026-11&clerk_id=3"


def test_werkzeug_access_log_never_carries_a_callback_token(app, caplog):
    import threading

    import requests
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with caplog.at_level(logging.INFO, logger="werkzeug"), requests.Session() as http:
            http.post(f"http://127.0.0.1:{server.port}/channels/sms/s1?token=pentest-secret-22&lang=en",
                      data="mobile=13800000000&content=hi", timeout=10)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
    [line] = [r.getMessage() for r in caplog.records if r.name == "werkzeug" and "/channels/sms/s1" in r.getMessage()]
    assert "pentest-secret-22" not in caplog.text
    assert "POST /channels/sms/s1?token=***&lang=en HTTP/1.1" in line


def test_socketio_allowed_origins_are_read_from_the_environment():
    from app.config import from_env

    config = from_env({"SOCKETIO_ALLOWED_ORIGINS": "https://console.example.com/, https://hq.example.com"})
    assert config["SOCKETIO_ALLOWED_ORIGINS"] == ["https://console.example.com", "https://hq.example.com"]
    assert from_env({})["SOCKETIO_ALLOWED_ORIGINS"] == []


def test_socket_handshake_accepts_its_own_and_configured_origins_and_refuses_every_other(app_factory):
    client = app_factory(SOCKETIO_ALLOWED_ORIGINS=["https://console.example.com"]).test_client()

    def handshake(origin, proxy_headers=None):
        return client.get("/socket.io/?EIO=4&transport=polling", headers={"Origin": origin, **(proxy_headers or {})})

    for origin in ("http://localhost", "https://console.example.com", "https://console.example.com:443"):
        resp = handshake(origin)
        assert resp.status_code == 200, origin
        assert resp.headers["Access-Control-Allow-Origin"] == origin
    # behind a TLS-terminating proxy the page's origin is the public one
    assert handshake("https://daogou.example.com", {"X-Forwarded-Proto": "https",
                                                    "X-Forwarded-Host": "daogou.example.com"}).status_code == 200
    for origin in ("http://localhost:8080", "https://localhost", "http://evil.example", "null",
                   "https://console.example.com.evil.example"):
        resp = handshake(origin)
        assert resp.status_code == 400, origin
        assert "Access-Control-Allow-Origin" not in resp.headers
