"""A local HTTP server standing in for the shop's sync webhook: it checks signatures, records every request
and answers the way it is told to (fail for a while, answer too slowly, hold a request, stop listening).

Answers are taken from `script` (one per request, first in first out) and, when it is empty, `default`:
- an int: that status (`429` and 503 carry `Retry-After: retry_after`), with `"no"` as the body for >= 400;
- "slow": sleep `slow_seconds` (past the sender's timeout), then answer 200 — a late answer, not counted;
- "hold": set `held`, wait for `release`, then drop the connection without answering (for a worker kill).

A 2xx whose answer was written counts as accepted: `accepted[key]` is how often the shop took a message.
`stop()` closes the listening socket (connection refused) and `start()` listens on the same port again.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from oms.outbox.shop_webhook import shop_signature_valid

SECRET = "fake-shop-secret"


class _Server(ThreadingHTTPServer):
    allow_reuse_address = True  # listen on the same port again at once after stop()
    daemon_threads = True


@dataclass
class Received:
    key: str
    kind: str
    body: dict
    signature_ok: bool
    answer: str  # the status written, or "late" / "dropped"
    attempt: str
    at: float = field(default_factory=time.monotonic)


class FakeShop:
    def __init__(self, *, port: int = 0, secret: str = SECRET):
        self.secret = secret
        self.lock = threading.Lock()
        self.received: list[Received] = []
        self.script: list = []
        self.default = 200
        self.retry_after = 1
        self.slow_seconds = 2.0
        self.held = threading.Event()
        self.release = threading.Event()
        self._server: _Server | None = None
        self.port = port
        self.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/storefill/sync"

    def start(self) -> None:
        shop = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's naming)
                shop._handle(self)

            def log_message(self, *args):
                pass

        server = _Server(("127.0.0.1", self.port), Handler)
        self.port = server.server_address[1]
        self._server = server
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def reset(self) -> None:
        """Forget what was received and answer the defaults again (200 to everything)."""
        with self.lock:
            self.received, self.script, self.default = [], [], 200
            self.retry_after, self.slow_seconds = 1, 2.0
        self.held.clear()
        self.release.clear()

    # --- what the tests read -----------------------------------------------------------------------
    def accepted(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for request in self.requests():
            if request.answer.startswith("2"):
                counts[request.key] = counts.get(request.key, 0) + 1
        return counts

    def requests(self) -> list[Received]:
        with self.lock:
            return list(self.received)

    def accepted_keys(self) -> list[str]:
        """The keys of the accepted messages, in the order the shop accepted them."""
        return [request.key for request in self.requests() if request.answer.startswith("2")]

    # --- the server's side ---------------------------------------------------------------------------
    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        raw = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        with self.lock:
            answer = self.script.pop(0) if self.script else self.default
        record = Received(
            key=handler.headers.get("Idempotency-Key", ""), kind=handler.headers.get("X-Storefill-Kind", ""),
            body=json.loads(raw or b"{}"), attempt=handler.headers.get("X-Storefill-Attempt", ""),
            signature_ok=shop_signature_valid(raw, handler.headers.get("X-Storefill-Signature", ""), self.secret),
            answer=str(answer),
        )
        if answer == "hold":
            record.answer = "dropped"
            self._record(record)
            self.held.set()
            self.release.wait(timeout=60)
            handler.close_connection = True
            return
        if answer == "slow":
            record.answer = "late"
            self._record(record)
            time.sleep(self.slow_seconds)
            self._answer(handler, 200)
            return
        if not record.signature_ok:
            answer = 401
            record.answer = "401"
        self._answer(handler, int(answer))
        self._record(record)  # after the answer is written: an accepted message is one whose 2xx went out

    def _answer(self, handler: BaseHTTPRequestHandler, status: int) -> None:
        body = b'{"ok": true}' if status < 400 else b'{"error": "no"}'
        try:
            handler.send_response(status)
            if status in (429, 503):
                handler.send_header("Retry-After", str(self.retry_after))
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body)
            handler.wfile.flush()
        except OSError:
            pass

    def _record(self, record: Received) -> None:
        with self.lock:
            self.received.append(record)
