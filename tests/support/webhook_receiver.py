"""A real webhook receiver for tests: http.server in a thread on 127.0.0.1, a free port.

It checks every request with its own Standard Webhooks verifier (written here from the
specification, not imported from the app), answers with the status the test sets, and can
be stopped (connections refused) and started again on the same port.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.support.smtp import free_port


def verify(secret: str, headers: dict[str, str], body: bytes) -> list[str]:
    """The space-separated v1 signatures in the headers that `secret` produced (empty: none).

    Standard Webhooks: HMAC-SHA256 over "{webhook-id}.{webhook-timestamp}.{body}", keyed with
    the base64-decoded secret after its "whsec_" prefix, base64-encoded, prefixed "v1,".
    """
    key = base64.b64decode(secret.split("_", 1)[1])
    content = b".".join(
        [headers["webhook-id"].encode(), headers["webhook-timestamp"].encode(), body]
    )
    expected = base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode()
    matched = []
    for candidate in headers["webhook-signature"].split(" "):
        version, _, signature = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(signature, expected):
            matched.append(candidate)
    return matched


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    body: bytes
    answered: int


@dataclass
class Receiver:
    port: int = field(default_factory=free_port)
    status: int = 204
    requests: list[Request] = field(default_factory=list)
    #: While set, each request waits (before answering) until it is released: a slow receiver.
    hold: threading.Event | None = None
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("content-length", 0))
                body = self.rfile.read(length)
                if receiver.hold is not None:
                    receiver.hold.wait(30)
                status = receiver.status
                receiver.requests.append(
                    Request(
                        self.path, {k.lower(): v for k, v in self.headers.items()}, body, status
                    )
                )
                answer = b"x" * 5000 if status >= 500 else b"ok"  # a long body is cut
                self.send_response(status)
                if 300 <= status < 400:
                    self.send_header("Location", f"http://127.0.0.1:{receiver.port}/elsewhere")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join()
            self._server = None
