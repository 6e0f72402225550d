"""``python -m app``: serve HTTP and Socket.IO on HOST:PORT (127.0.0.1:5000 by default)."""
from app import create_app
from app.realtime import socketio


def main() -> None:
    app = create_app()
    host, port = app.config["HOST"], app.config["PORT"]
    app.logger.info("serving", extra={"url": f"http://{host}:{port}/"})
    socketio.run(app, host=host, port=port, allow_unsafe_werkzeug=True, use_reloader=False)


if __name__ == "__main__":
    main()
