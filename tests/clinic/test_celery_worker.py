"""The embedded default: a task sent by the web process runs in a separate worker process over
the file-system broker, with no Redis or other server involved."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from clinic.celery import app
from tests.clinic.probe_tasks import write_marker
from tests.worker import running_worker, wait_for

if not app.conf.broker_url.startswith("filesystem://"):
    pytest.skip("CELERY_BROKER_URL overrides the embedded broker", allow_module_level=True)


def test_the_embedded_broker_shares_one_absolute_folder() -> None:
    options = app.conf.broker_transport_options

    assert options["data_folder_in"] == options["data_folder_out"]
    assert Path(options["data_folder_in"]).is_absolute()
    assert Path(options["data_folder_in"]).is_dir()


def test_a_task_sent_by_the_web_process_runs_in_a_worker_process(tmp_path: Path) -> None:
    queue = f"probe-{uuid.uuid4().hex[:8]}"  # our own queue: no stale message can answer for us
    marker = tmp_path / "marker.txt"

    with running_worker(queues=[queue], include=["tests.clinic.probe_tasks"]) as worker:
        write_marker.apply_async(args=[str(marker), "hello from web"], queue=queue)

        assert wait_for(marker.exists, timeout=30), worker.log

    text = marker.read_text()
    assert text.startswith("hello from web")
    assert f"pid={os.getpid()}" not in text
    assert "tests.probe.write_marker" in worker.log
