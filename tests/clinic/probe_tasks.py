"""A task that only the worker tests load (``--include``): it proves which process ran it."""

import os
from pathlib import Path

from clinic.celery import app


@app.task(name="tests.probe.write_marker")
def write_marker(path: str, text: str) -> None:
    Path(path).write_text(f"{text} pid={os.getpid()}")
