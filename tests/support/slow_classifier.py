"""A classifier that a crafted message makes slow for real: exponential regex backtracking.

Python's re engine holds the GIL for the whole match, which is what made one message freeze
the bounce server and the web app. The bounce pool runs this in its worker processes, put in
place of the real classifier through the app's pool (pool.EXTENSION).
"""

from __future__ import annotations

import re
import socket

from bulletin.bounces.classify import Classification, classify_message
from bulletin.bounces.pool import EXTENSION, ClassifierPool

#: Each extra "a" before the final "!" roughly doubles the work (a run of 22 takes about 1 s).
CATASTROPHIC = re.compile(rb"^(a+)+$")
RUN = re.compile(rb"^X-Slow-Run: (a+!)", re.MULTILINE)
#: The classifier connects here when it starts on the run: the test knows it is busy.
SIGNAL = re.compile(rb"^X-Signal-Port: (\d+)", re.MULTILINE)


def classify_slowly(raw: bytes) -> Classification:
    """Backtrack through the message's X-Slow-Run, then classify it as usual."""
    port = SIGNAL.search(raw)
    if port is not None:
        socket.create_connection(("127.0.0.1", int(port.group(1))), timeout=30).close()
    run = RUN.search(raw)
    if run is not None:
        CATASTROPHIC.match(run.group(1))
    return classify_message(raw)


def slow_message(run: int = 64, *, signal_port: int | None = None) -> bytes:
    """A plain mail whose X-Slow-Run keeps classify_slowly busy (64: for good)."""
    lines = [
        "From: Someone <someone@example.net>",
        "To: bounces@bounces.example.org",
        "Subject: hello",
        f"X-Slow-Run: {'a' * run}!",
    ]
    if signal_port is not None:
        lines.append(f"X-Signal-Port: {signal_port}")
    return ("\r\n".join(lines) + "\r\n\r\nHello.\r\n").encode()


def install_slow_pool(app, *, workers: int, timeout: float) -> ClassifierPool:
    """Give the app a pool that runs classify_slowly (closed by the app fixture's teardown)."""
    pool = ClassifierPool(workers=workers, timeout=timeout, classifier=classify_slowly)
    app.extensions[EXTENSION] = pool
    return pool
