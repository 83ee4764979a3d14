"""Text-message backends behind one small interface, chosen by ``settings.SMS_BACKEND``.

Every message carries an idempotency key (one per reminder). Real SMS gateways accept such a
key and drop repeats; the file backend does the same, so a hand-off repeated after a worker
crash still delivers once.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import ClassVar, Protocol, TextIO

from django.conf import settings
from django.utils.module_loading import import_string


class SmsError(Exception):
    """The gateway refused or could not be reached; the reminder will be retried."""


class SmsBackend(Protocol):
    def send(self, *, to: str, body: str, key: str) -> None: ...


class ConsoleSmsBackend:
    """Prints messages, for the embedded default and development."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout

    def send(self, *, to: str, body: str, key: str) -> None:
        self.stream.write(f"--- SMS to {to} [{key}]\n{body}\n---\n")
        self.stream.flush()


class FileSmsBackend:
    """One file per message in ``SMS_OUTBOX_DIR``, named by its key; a repeat is a no-op."""

    def __init__(self, directory: str | Path | None = None) -> None:
        self.directory = Path(directory or settings.SMS_OUTBOX_DIR)

    def send(self, *, to: str, body: str, key: str) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        try:
            with (self.directory / f"{key}.txt").open("x", encoding="utf-8") as file:
                file.write(f"To: {to}\n\n{body}\n")
        except FileExistsError:
            return  # delivered already: the gateway contract is idempotent by key
        except OSError as error:
            raise SmsError(f"could not write to the SMS outbox: {error}") from error


class LocmemSmsBackend:
    """Keeps messages in memory, for tests (like Django's locmem email backend)."""

    outbox: ClassVar[list[dict[str, str]]] = []

    def send(self, *, to: str, body: str, key: str) -> None:
        if any(message["key"] == key for message in self.outbox):
            return
        self.outbox.append({"to": to, "body": body, "key": key})


def sms_backend() -> SmsBackend:
    backend: SmsBackend = import_string(settings.SMS_BACKEND)()
    return backend
