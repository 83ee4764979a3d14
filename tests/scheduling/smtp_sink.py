"""A local SMTP server (aiosmtpd) that records every message it is handed and can be made slow:
it takes the whole message, then waits before answering, as an overloaded mail server does."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from typing import Any

from aiosmtpd.controller import Controller


@dataclass
class SmtpSink:
    port: int = 0
    delay: float = 0.0  # seconds between receiving a message and answering "250 OK"
    received: list[Message] = field(default_factory=list)

    @property
    def message_ids(self) -> list[str]:
        return [str(message["Message-ID"]) for message in self.received]

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's hook name)
        self.received.append(message_from_bytes(envelope.original_content or envelope.content))
        if self.delay:
            await asyncio.sleep(self.delay)
        return "250 Message accepted for delivery"

    def mailer_options(self, *, timeout: int) -> dict[str, Any]:
        return {
            "host": "127.0.0.1",
            "port": self.port,
            "use_tls": False,
            "timeout": timeout,
        }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def smtp_sink(*, delay: float = 0.0) -> Iterator[SmtpSink]:
    sink = SmtpSink(port=free_port(), delay=delay)
    controller = Controller(sink, hostname="127.0.0.1", port=sink.port)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop(no_assert=True)
