"""Real `bulletin worker` processes for the tests that start, stop and kill them."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def start_worker_process(
    database_url: str, smtp_url: str, tmp_path, **settings
) -> subprocess.Popen:
    """`bulletin worker` on this checkout's code (cwd and PYTHONPATH are the repository), its
    output in a log file under tmp_path; `settings` override the defaults below."""
    env = dict(
        os.environ,
        DATABASE_URL=database_url,
        SMTP_URL=smtp_url,
        SECRET_KEY="test-secret-key",
        OUTBOX_DIR=str(tmp_path / "outbox"),
        WORKER_TICK_SECONDS="0.2",
        SEND_RETRY_SECONDS="0",
        BASE_URL="http://localhost",
        MAIL_FROM="Research bulletin <bulletin@example.org>",
        PYTHONPATH=str(ROOT),
    )
    env.update({key: str(value) for key, value in settings.items()})
    with open(tmp_path / f"worker-{time.monotonic_ns()}.log", "w") as log:
        return subprocess.Popen(
            [sys.executable, "-c", "from bulletin.cli import main; main()", "worker"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def wait_until(condition, timeout: float, what: str, every: float = 0.1) -> None:
    """Poll a condition (a database query, say) until it holds, or fail saying what."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(every)
