"""A local HTTP server that speaks the chat-completions protocol, with canned behaviours.

It stands in for an OpenAI-compatible endpoint (the outer boundary); nothing of ours is patched.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Behaviour = Callable[[dict[str, Any]], tuple[int, str]]
"""Given the request body, the HTTP status and the assistant's message content (or raw body)."""


def completion(content: str, model: str = "fake-model", n: int = 1) -> str:
    return json.dumps(
        {
            "id": "chatcmpl-test",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [
                {
                    "index": index,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": "stop",
                }
                for index in range(n)
            ],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }
    )


class FakeChatServer:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.behaviour: Behaviour = lambda body: (200, completion('{"suggestions": []}'))
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                server.requests.append({"path": self.path, "body": body})
                status, payload = server.behaviour(body)
                data = payload.encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (the timeout test)

            def log_message(self, *args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def answer(self, content: str, status: int = 200) -> None:
        self.behaviour = lambda body: (status, completion(content) if status == 200 else content)

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


def _words(text: str) -> set[str]:
    return {word for word in re.findall(r"\w+", text.lower()) if len(word) > 3}


def _supported(claim: str, context: str) -> int:
    """1 when at least half of the claim's longer words occur in the context."""
    words = _words(claim)
    return int(bool(words) and len(words & _words(context)) >= len(words) / 2)


def _sentences(text: str) -> list[str]:
    return [part.strip() for part in re.split(r"(?<=[.!?])\s+|\n+", text) if part.strip()]


class LexicalJudge:
    """A judge for Ragas' LLM metrics that answers each Ragas prompt in the JSON its schema asks
    for, judging support by word overlap. `strict` makes it reject every claim, so a test can
    see the scores follow the judge's verdicts."""

    def __init__(self, strict: bool = False) -> None:
        self.strict = strict
        self.prompts: list[str] = []

    def __call__(self, body: dict[str, Any]) -> tuple[int, str]:
        prompt = body["messages"][-1]["content"]
        self.prompts.append(prompt)
        found = re.search(r"JSON Schema:\n(\{.*?\})Do not use", prompt, re.S)
        if found is None:  # not a Ragas prompt (the connection check)
            return 200, completion("OK")
        schema = json.loads(found[1])
        marker = "Now perform the same with the following input"
        given = json.loads(prompt.split(marker)[-1].split("input:", 1)[1].rsplit("Output:", 1)[0])
        answer = json.dumps(self.judge(schema["title"], given))
        return 200, completion(answer, n=int(body.get("n") or 1))

    def judge(self, kind: str, given: dict[str, Any]) -> dict[str, Any]:
        def verdict(claim: str, context: str) -> int:
            return 0 if self.strict else _supported(claim, context)

        if kind == "StatementGeneratorOutput":
            return {"statements": _sentences(given["answer"])}
        if kind == "NLIStatementOutput":
            return {
                "statements": [
                    {
                        "statement": s,
                        "reason": "word overlap",
                        "verdict": verdict(s, given["context"]),
                    }
                    for s in given["statements"]
                ]
            }
        if kind == "Verification":
            return {"reason": "word overlap", "verdict": verdict(given["answer"], given["context"])}
        if kind == "ContextRecallClassifications":
            return {
                "classifications": [
                    {
                        "statement": s,
                        "reason": "word overlap",
                        "attributed": verdict(s, given["context"]),
                    }
                    for s in _sentences(given["answer"])
                ]
            }
        if kind == "ResponseRelevanceOutput":
            return {"question": given["response"], "noncommittal": 1 if self.strict else 0}
        raise ValueError(f"the fake judge does not know the prompt {kind}")
