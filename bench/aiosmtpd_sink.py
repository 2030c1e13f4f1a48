"""aiosmtpd as a sink (it parses every command, so it saturates a core first): prints PORT."""

from __future__ import annotations

import signal
import socket
import threading

from aiosmtpd.controller import Controller


class Counting:
    messages = 0

    async def handle_DATA(self, server, session, envelope):
        Counting.messages += 1
        return "250 queued"


def main() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    controller = Controller(Counting(), hostname="127.0.0.1", port=port, data_size_limit=0)
    controller.start()
    print("PORT", port, flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stop.wait()
    controller.stop()
    print("MESSAGES", Counting.messages, flush=True)


if __name__ == "__main__":
    main()
