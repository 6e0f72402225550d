"""``python -m app``: serve HTTP and Socket.IO on HOST:PORT (127.0.0.1:5000 by default)."""
from app import create_app
from app.jobs import runner
from app.realtime import socketio


def main() -> None:
    app = create_app()
    if app.config["SCHEDULER_ENABLED"] and app.config["JOBS_MODE"] == "thread":
        # Embedded mode: periodic jobs (outbox sweep, task deadlines, automations, nightly
        # scoring) run in this process; scaled out, one `flask scheduler` does it.
        runner(app).start_scheduler()
    host, port = app.config["HOST"], app.config["PORT"]
    app.logger.info("serving", extra={"url": f"http://{host}:{port}/"})
    socketio.run(app, host=host, port=port, allow_unsafe_werkzeug=True, use_reloader=False)


if __name__ == "__main__":
    main()
