"""The application as production runs it: gunicorn, production settings, static files from the
application; logging in over HTTP; the workers' memory."""

from __future__ import annotations

import http.client
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path
from types import TracebackType
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[2]
WORKERS = 2  # sync workers: the fastest on two cores (gthread measured about half as fast)


def server_env(url: str, var_dir: str) -> dict[str, str]:
    """The one place the benchmark's settings are chosen: production settings (DEBUG off), with
    only what plain HTTP on loopback and a load test need changed. Used by migrate, seeding,
    collectstatic, gunicorn and the in-process query count alike. If production starts to
    require another setting (``manage.py check --deploy`` in .ci/run shows what CI passes, e.g.
    a mail or SMS gateway), add it here."""
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="clinic.settings",
        DATABASE_URL=url,
        DEBUG="false",
        SECRET_KEY=f"bench-only-{secrets.token_urlsafe(32)}",
        ALLOWED_HOSTS="127.0.0.1",
        # Plain HTTP on loopback: no redirect to https, cookies sent without TLS.
        SECURE_SSL_REDIRECT="false",
        SESSION_COOKIE_SECURE="false",
        CSRF_COOKIE_SECURE="false",
        # Nothing measured here hands work to Celery (rescheduling writes reminder rows), so no
        # broker runs and no message is sent; production still insists on real channels, so
        # they are named (nothing listens at these addresses).
        CELERY_BROKER_URL="memory://",
        MAILER="smtp",
        SMTP_HOST="127.0.0.1",
        DEFAULT_FROM_EMAIL="bench@clinic.invalid",
        SMS_GATEWAY="webhook",
        SMS_WEBHOOK_URL="https://sms.clinic.invalid/send",
        SMS_WEBHOOK_SECRET=f"bench-only-{secrets.token_urlsafe(16)}",
        # One user makes every change of the write path, far beyond a person's 120 a minute.
        API_WRITE_RATE="1000000/minute",
        # Every file the settings create (static files, outboxes) in a throw-away folder.
        VAR_DIR=var_dir,
        LOG_LEVEL="WARNING",
    )
    return env


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Server:
    """gunicorn in its own process group, stopped with everything it started on exit (errors and
    Ctrl-C included)."""

    def __init__(self, env: dict[str, str], log_dir: Path, *, workers: int = WORKERS) -> None:
        self.env = env
        self.workers = workers
        self.port = free_port()
        self.log = log_dir / "gunicorn.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def __enter__(self) -> Server:
        gunicorn = Path(sys.executable).with_name("gunicorn")
        # gunicorn's own log and the application's (errors with tracebacks) go to one file, shown
        # at the end, rather than through the table as it is printed.
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(  # noqa: S603  (fixed argv: the venv's gunicorn)
                [
                    str(gunicorn),
                    "clinic.wsgi:application",
                    f"--bind={self.host}",
                    f"--workers={self.workers}",
                    "--worker-class=sync",
                    "--no-control-socket",  # gunicorn 27 would create one under ~/.gunicorn/
                    "--log-level=warning",
                ],
                cwd=ROOT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,  # its own process group, so it can be stopped as one
            )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited at start:\n{self.log_tail()}")
            try:
                if (
                    request(self.host, "GET", "/ping").status == 200
                    and len(self.worker_pids()) == self.workers
                ):
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(
            f"gunicorn did not answer /ping within {timeout:.0f} s:\n{self.log_tail()}"
        )

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        except ProcessLookupError:
            pass

    def log_tail(self, lines: int = 40) -> str:
        if not self.log.exists():
            return "(no gunicorn log)"
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def worker_pids(self) -> list[int]:
        """The master's children (read from /proc: no extra tool needed)."""
        if self.process is None:
            return []
        children = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # gone meanwhile
            if int(fields[1]) == self.process.pid:
                children.append(int(stat.parent.name))
        return sorted(children)

    def memory(self) -> dict[str, int]:
        """Resident memory (VmRSS, bytes) of the master and each worker."""
        if self.process is None:
            return {}
        found = {"master": rss(self.process.pid)}
        for number, pid in enumerate(self.worker_pids(), start=1):
            found[f"worker {number}"] = rss(pid)
        return found


def rss(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
    return int(match.group(1)) * 1024 if match else 0


# --- HTTP from this process (log-in and one-off checks; the load itself is wrk's) ------------


@dataclass(frozen=True)
class Answer:
    status: int
    headers: http.client.HTTPMessage
    body: bytes


def request(
    host: str,
    method: str,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    body: str | None = None,
) -> Answer:
    """One request on its own connection (sync workers close every connection anyway)."""
    name, port = host.split(":")
    connection = http.client.HTTPConnection(name, int(port), timeout=60)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return Answer(response.status, response.headers, response.read())
    finally:
        connection.close()


def _cookies(answer: Answer) -> dict[str, str]:
    jar: SimpleCookie = SimpleCookie()
    for header in answer.headers.get_all("Set-Cookie") or []:
        jar.load(header)
    return {name: morsel.value for name, morsel in jar.items()}


def login(host: str, username: str, password: str) -> str:
    """Log in with a real POST to /login/ (CSRF token and all) and return the Cookie header a
    browser would send afterwards."""
    form = request(host, "GET", "/login/")
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', form.body)
    csrf = _cookies(form).get("csrftoken")
    if form.status != 200 or token is None or csrf is None:
        raise RuntimeError(f"GET /login/ answered {form.status} without a CSRF token")
    answer = request(
        host,
        "POST",
        "/login/",
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": f"csrftoken={csrf}",
        },
        body=urlencode(
            {
                "username": username,
                "password": password,
                "csrfmiddlewaretoken": token.group(1).decode(),
            }
        ),
    )
    session = _cookies(answer).get("sessionid")
    if answer.status != 302 or session is None:
        raise RuntimeError(f"Logging in as {username} answered {answer.status}, not a redirect")
    return f"sessionid={session}; csrftoken={_cookies(answer).get('csrftoken', csrf)}"
