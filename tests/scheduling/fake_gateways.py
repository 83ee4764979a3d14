"""Local fakes of the SMS gateways' HTTP APIs: a real HTTP server in a thread that checks each
request's signature the way the provider does, records what it was sent, and answers with
whatever the test queued (a status and JSON body, or silence for longer than the timeout)."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: bytes
    signature_ok: bool

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Answer:
    status: int = 200
    body: dict[str, Any] = field(default_factory=dict)
    delay: float = 0.0  # seconds of silence before answering (a gateway that hangs)


@dataclass
class FakeGateway:
    secret: str
    kind: str  # "solapi" or "webhook"
    url: str = ""
    requests: list[Recorded] = field(default_factory=list)
    answers: list[Answer] = field(default_factory=list)
    default: Answer = field(default_factory=Answer)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, *answers: Answer) -> None:
        """Queue answers for the next requests; after them every request gets ``default``."""
        self.answers.extend(answers)

    def next_answer(self) -> Answer:
        with self.lock:
            return self.answers.pop(0) if self.answers else self.default

    def verify(self, headers: dict[str, str], body: bytes) -> bool:
        if self.kind == "solapi":
            return self._verify_solapi(headers.get("authorization", ""))
        return self._verify_webhook(headers, body)

    def _verify_solapi(self, authorization: str) -> bool:
        # HMAC-SHA256 apiKey=..., date=..., salt=..., signature=...  (signature = date + salt)
        match = re.fullmatch(
            r"HMAC-SHA256 apiKey=(\S+), date=(\S+), salt=(\S+), signature=([0-9a-f]{64})",
            authorization,
        )
        if not match:
            return False
        _, date, salt, signature = match.groups()
        expected = hmac.new(self.secret.encode(), (date + salt).encode(), hashlib.sha256)
        return hmac.compare_digest(expected.hexdigest(), signature)

    def _verify_webhook(self, headers: dict[str, str], body: bytes) -> bool:
        timestamp = headers.get("x-clinic-timestamp", "")
        signature = headers.get("x-clinic-signature", "")
        if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > 300:
            return False
        expected = hmac.new(self.secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
        return hmac.compare_digest(f"sha256={expected.hexdigest()}", signature)


def _handler(gateway: FakeGateway) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            headers = {name.lower(): value for name, value in self.headers.items()}
            ok = gateway.verify(headers, body)
            with gateway.lock:
                gateway.requests.append(Recorded(self.path, headers, body, ok))
            answer = gateway.next_answer() if ok else Answer(401, {"errorCode": "Unauthorized"})
            if answer.delay:
                time.sleep(answer.delay)
            payload = json.dumps(answer.body).encode()
            try:
                self.send_response(answer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting (a timeout test)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def fake_gateway(kind: str, secret: str) -> Iterator[FakeGateway]:
    gateway = FakeGateway(secret=secret, kind=kind)
    if kind == "solapi":
        gateway.default = Answer(200, {"groupInfo": {"count": {"total": 1, "registeredFailed": 0}}})
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(gateway))
    server.daemon_threads = True
    gateway.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield gateway
    finally:
        server.shutdown()
        server.server_close()
