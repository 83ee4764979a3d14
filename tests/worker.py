"""Start real Celery worker processes from tests (never eager mode)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


class WorkerProcess:
    def __init__(self, command: list[str], env: dict[str, str]) -> None:
        self.output: list[str] = []
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # its own process group, so a kill reaches the pool children
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line.rstrip())

    @property
    def log(self) -> str:
        return "\n".join(self.output)

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(line.rstrip().endswith(" ready.") for line in self.output):
                return
            if self.process.poll() is not None:
                raise RuntimeError(f"worker exited with {self.process.returncode}:\n{self.log}")
            time.sleep(0.1)
        raise TimeoutError(f"worker not ready after {timeout}s:\n{self.log}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout)
        self._reader.join(5)


@contextmanager
def running_worker(
    *,
    queues: list[str] | None = None,
    include: list[str] | None = None,
    env: dict[str, str] | None = None,
    concurrency: int = 1,
) -> Iterator[WorkerProcess]:
    command = [
        sys.executable,
        "-m",
        "celery",
        "--app",
        "clinic",
        "worker",
        "--loglevel",
        "INFO",
        "--concurrency",
        str(concurrency),
        "--hostname",
        f"test-{uuid.uuid4().hex[:8]}@%h",
        "--without-gossip",
        "--without-mingle",
    ]
    if queues:
        command += ["--queues", ",".join(queues)]
    if include:
        command += ["--include", ",".join(include)]
    worker = WorkerProcess(command, {**os.environ, **(env or {})})
    try:
        worker.wait_ready()
        yield worker
    finally:
        worker.stop()


def wait_for(condition: object, timeout: float = 30, interval: float = 0.2) -> bool:
    """Poll a zero-argument callable until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(interval)
    return False


def worker_database_url() -> str:
    """A DATABASE_URL for worker processes pointing at the test database."""
    from django.db import connection

    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings['NAME']}"
    credentials = settings["USER"] or ""
    if settings.get("PASSWORD"):
        credentials += f":{settings['PASSWORD']}"
    host = settings["HOST"] or "localhost"
    port = settings["PORT"] or 5432
    return f"postgres://{credentials}@{host}:{port}/{settings['NAME']}"
