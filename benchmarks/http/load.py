"""Load from a second process: wrk over loopback, with Lua for the percentiles and the write
path."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

THREADS = 2
CONNECTIONS = 8
TIMEOUT = "30s"  # a slow page is measured, not dropped as a timeout after wrk's default 2 s

# done() runs once at the end with every thread's figures merged; it prints one JSON line that
# is read back below (wrk's own summary has no p95). Latencies are in microseconds.
REPORT_LUA = r"""
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests": %d, "duration_us": %d, "connect": %d, "read": %d, ' ..
    '"write": %d, "status": %d, "timeout": %d, "p50_us": %d, "p95_us": %d, "p99_us": %d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
"""

# The write path: each thread takes every THREADS-th session of the list, walks its share round
# robin and moves each session to its other time, so no two requests in flight touch the same
# session. Lines of the file: "<session id> <next start> <start after that>".
RESCHEDULE_LUA = (
    r"""
local created = 0
function setup(thread)
  thread:set("thread_number", created)
  created = created + 1
end

local mine, position = {}, 0
function init(args)
  local threads, index = tonumber(args[2]), 0
  for line in io.lines(args[1]) do
    if index % threads == thread_number then
      local id, first, second = line:match("^(%d+) (%S+) (%S+)$")
      mine[#mine + 1] = {id = id, next = first, after = second}
    end
    index = index + 1
  end
end

function request()
  position = position % #mine + 1
  local session = mine[position]
  local target = session.next
  session.next, session.after = session.after, session.next
  return wrk.format("POST", "/api/v1/sessions/" .. session.id .. "/reschedule/", nil,
                    '{"new_start": "' .. target .. '"}')
end
"""
    + REPORT_LUA
)


@dataclass(frozen=True)
class LoadResult:
    requests: int
    seconds: float
    p50: float  # seconds
    p95: float
    p99: float
    socket_errors: int  # connect, read, write, timeout
    status_errors: int  # answers other than 2xx/3xx

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def errors(self) -> int:
        return self.socket_errors + self.status_errors


def require_wrk() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise SystemExit(
            "wrk is not installed: `bash scripts/bench-http` installs it (Debian package wrk), "
            "or run `apt-get install -y wrk`."
        )
    return found


def write_scripts(folder: Path) -> tuple[Path, Path]:
    report, reschedule = folder / "report.lua", folder / "reschedule.lua"
    report.write_text(REPORT_LUA)
    reschedule.write_text(RESCHEDULE_LUA)
    return report, reschedule


def run_wrk(
    host: str,
    path: str,
    *,
    seconds: int,
    headers: dict[str, str],
    script: Path,
    script_args: tuple[str, ...] = (),
) -> LoadResult:
    command = [
        require_wrk(),
        f"--threads={THREADS}",
        f"--connections={CONNECTIONS}",
        f"--duration={seconds}s",
        f"--timeout={TIMEOUT}",
        f"--script={script}",
        *(f"--header={name}: {value}" for name, value in headers.items()),
        f"http://{host}{path}",
    ]
    if script_args:
        command += ["--", *script_args]
    finished = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    line = next((ln for ln in finished.stdout.splitlines() if ln.startswith("BENCH_RESULT ")), None)
    if finished.returncode or line is None:
        raise RuntimeError(
            f"wrk failed on {path} (exit {finished.returncode}):\n"
            f"{finished.stdout}{finished.stderr}"
        )
    figures = json.loads(line.removeprefix("BENCH_RESULT "))
    return LoadResult(
        requests=figures["requests"],
        seconds=figures["duration_us"] / 1e6,
        p50=figures["p50_us"] / 1e6,
        p95=figures["p95_us"] / 1e6,
        p99=figures["p99_us"] / 1e6,
        socket_errors=sum(figures[kind] for kind in ("connect", "read", "write", "timeout")),
        status_errors=figures["status"],
    )
