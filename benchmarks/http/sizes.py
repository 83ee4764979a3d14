"""How big a clinic to seed (no Django here: the command line reads it before set-up)."""

from __future__ import annotations

from dataclasses import dataclass

# The 50th practitioner's usernames start so: the write path moves their sessions.
WRITER_PREFIX = "bench-http-writes"


@dataclass(frozen=True)
class Sizes:
    name: str
    practitioners: int
    rooms: int
    patients: int
    courses: int
    reminders: int
    write_sessions: int  # maintenance sessions the write path moves back and forth


SIZES = {
    # A clinic group's size, as the performance issue puts it.
    "full": Sizes("full", 50, 20, 10_000, 12_000, 1_000_000, 300),
    # The same clinic's shape in about a minute, to try the command.
    "small": Sizes("small", 50, 20, 500, 600, 20_000, 100),
}
