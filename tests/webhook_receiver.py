"""A real HTTP server that receives Chorus webhooks, for the tests and the e2e step.

It records every request (headers and raw body), answers with the statuses it is told
(one per request, then the last one again), and can check signatures with the secret.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from annotate.webhooks.signing import HEADER, verify


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    # When it arrived: a receiver checks the signature's timestamp on arrival, so a
    # delivery checked minutes later (the e2e run's step 7b) is judged as of then.
    received_at: float = field(default_factory=time.time)

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def event(self) -> str:
        return self.headers.get("X-Chorus-Event", "")

    def signed_by(self, secret: str) -> bool:
        return verify(
            secret=secret,
            header=self.headers.get(HEADER, ""),
            body=self.body,
            now=self.received_at,
        )


@dataclass
class Receiver:
    statuses: list[int] = field(default_factory=lambda: [200])
    received: list[Received] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/chorus"

    def start(self) -> Receiver:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                owner.received.append(Received(self.path, dict(self.headers.items()), body))
                status = owner.statuses.pop(0) if len(owner.statuses) > 1 else owner.statuses[0]
                self.send_response(status)
                if 300 <= status < 400:
                    self.send_header("Location", "http://127.0.0.1:9/elsewhere")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def wait_for(self, event: str, *, timeout: float = 30.0, n: int = 1) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [r for r in list(self.received) if r.event == event]
            if len(found) >= n:
                return found
            time.sleep(0.1)
        seen = sorted({r.event for r in self.received})
        raise AssertionError(f"no {event!r} webhook within {timeout} s (got: {seen})")
