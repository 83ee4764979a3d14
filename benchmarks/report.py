"""Plain-text tables and the few statistics the benchmarks print."""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager


def met(ok: bool) -> str:
    return "yes" if ok else "NO"


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.2f} ms"


def secs(seconds: float) -> str:
    return f"{seconds:,.2f} s"


def count(number: float) -> str:
    return f"{number:,.0f}"


def median(samples: Sequence[float]) -> float:
    return statistics.median(samples)


def p95(samples: Sequence[float]) -> float:
    # Nearest rank: with 200 samples this is the 190th fastest, an observed value.
    ordered = sorted(samples)
    return ordered[max(0, -(-len(ordered) * 95 // 100) - 1)]


class Stopwatch:
    """Accumulates wall time over several ``with watch.running():`` blocks."""

    def __init__(self) -> None:
        self.seconds = 0.0

    @contextmanager
    def running(self) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds += time.perf_counter() - started


class Table:
    """Columns aligned on the widest cell; notes are printed under the table."""

    def __init__(self, title: str, headers: Sequence[str]) -> None:
        self.title = title
        self.headers = list(headers)
        self.rows: list[list[str]] = []
        self.notes: list[str] = []

    def add(self, *cells: object) -> None:
        row = ["" if cell is None else str(cell) for cell in cells]
        self.rows.append(row + [""] * (len(self.headers) - len(row)))

    def note(self, text: str) -> None:
        self.notes.append(text)

    def render(self) -> str:
        widths = [
            max(len(row[i]) for row in [self.headers, *self.rows]) for i in range(len(self.headers))
        ]

        def line(cells: Sequence[str]) -> str:
            # First column reads as a label (left); figures line up on the right.
            parts = [
                cell.ljust(width) if i == 0 else cell.rjust(width)
                for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
            ]
            return "  " + " | ".join(parts).rstrip()

        rule = "  " + "-+-".join("-" * width for width in widths)
        out = ["", self.title, "=" * len(self.title), line(self.headers), rule]
        out += [line(row) for row in self.rows]
        out += [f"  * {note}" for note in self.notes]
        return "\n".join(out)

    def print(self) -> None:
        print(self.render(), flush=True)


def progress(text: str) -> None:
    """A short status line while data is being prepared (setup time is not measured)."""
    print(f"  .. {text}", flush=True)
