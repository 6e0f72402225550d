"""A local OpenAI-compatible chat completions server on 127.0.0.1, scripted per test.

It speaks the wire format of ``POST /v1/chat/completions`` so the real openai SDK talks to it
over HTTP. Each request takes the next scripted step: an answer (JSON content), raw content
(not JSON), an HTTP error status, or a slow answer that outlasts the client's timeout.
"""
from __future__ import annotations

import json
import threading
from collections import deque
from typing import Any

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response


class FakeChatServer:
    def __init__(self) -> None:
        self.steps: deque[tuple[str, Any, float]] = deque()
        self.requests: list[dict[str, Any]] = []
        self._release = threading.Event()
        self._server = make_server("127.0.0.1", 0, self._wsgi, threaded=True)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                                        daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}/v1"

    def start(self) -> FakeChatServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._release.set()  # let slow handlers finish at once
        self._server.shutdown()
        self._server.server_close()

    # scripting -------------------------------------------------------------------------------
    def answer(self, text: str, products: list[str] | None = None, reason: str = "测试理由") -> None:
        self.steps.append(("content", json.dumps({"text": text, "products": products or [], "reason": reason},
                                                 ensure_ascii=False), 0.0))

    def raw(self, content: str) -> None:
        self.steps.append(("content", content, 0.0))

    def tool_calls(self, *calls: tuple[str, Any]) -> None:
        """The model asks for tools: (name, arguments) pairs; arguments a dict, or a raw string."""
        self.steps.append(("tools", [(name, args if isinstance(args, str) else json.dumps(args, ensure_ascii=False))
                                     for name, args in calls], 0.0))

    def status(self, code: int) -> None:
        self.steps.append(("status", code, 0.0))

    def slow(self, seconds: float, text: str = "慢回答") -> None:
        self.steps.append(("content", json.dumps({"text": text, "products": [], "reason": "慢"}), seconds))

    # the endpoint ----------------------------------------------------------------------------
    def _wsgi(self, environ, start_response):
        request = Request(environ)
        if request.path != "/v1/chat/completions" or request.method != "POST":
            return Response("not found", status=404)(environ, start_response)
        self.requests.append(json.loads(request.get_data()))
        kind, value, delay = self.steps.popleft() if self.steps else ("status", 500, 0.0)
        if delay:
            self._release.wait(delay)
        if kind == "status":
            body = {"error": {"message": f"scripted {value}", "type": "server_error", "code": str(value)}}
            return Response(json.dumps(body), status=value, mimetype="application/json")(environ, start_response)
        message: dict[str, Any] = {"role": "assistant", "content": value}
        if kind == "tools":
            message = {"role": "assistant", "content": None, "tool_calls": [
                {"id": f"call_{len(self.requests)}_{i}", "type": "function", "function": {"name": name, "arguments": args}}
                for i, (name, args) in enumerate(value)]}
        completion = {
            "id": f"chatcmpl-{len(self.requests)}", "object": "chat.completion", "created": 1_790_000_000,
            "model": "fake-model",
            "choices": [{"index": 0, "finish_reason": "tool_calls" if kind == "tools" else "stop", "message": message}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
        }
        return Response(json.dumps(completion), mimetype="application/json")(environ, start_response)
