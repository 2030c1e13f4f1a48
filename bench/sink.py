"""A minimal SMTP responder: 250 to every command, counts DATA bytes up to the lone dot.

Run: python bench/sink.py [port]  -> prints "PORT <n>" then serves until killed; on SIGTERM
prints "MESSAGES <count> BYTES <bytes> LAST <epoch time of the last message>". It parses
nothing, so the sender is the bottleneck.
"""

from __future__ import annotations

import asyncio
import signal
import sys
import time

COUNTS = {"messages": 0, "bytes": 0, "last": 0.0}


async def serve_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"220 sink ESMTP\r\n")
    buffer, in_data, searched = bytearray(), False, 0
    while chunk := await reader.read(1 << 16):
        buffer += chunk
        while True:
            if in_data:
                end = buffer.find(b"\r\n.\r\n", max(0, searched - 4))
                if end < 0:
                    searched = len(buffer)
                    break
                COUNTS["messages"] += 1
                COUNTS["bytes"] += end
                COUNTS["last"] = time.time()
                del buffer[: end + 5]
                in_data, searched = False, 0
                writer.write(b"250 queued\r\n")
                continue
            end = buffer.find(b"\r\n")
            if end < 0:
                break
            verb = bytes(buffer[:4]).upper()
            del buffer[: end + 2]
            if verb == b"DATA":
                in_data, searched = True, 0
                buffer[0:0] = b"\r\n"  # so a message with no body still ends at "\r\n.\r\n"
                writer.write(b"354 go ahead\r\n")
            elif verb == b"EHLO":
                # Like Postfix: advertise PIPELINING (RFC 2920). Bare smtplib never uses it.
                writer.write(b"250-sink\r\n250-PIPELINING\r\n250 8BITMIME\r\n")
            elif verb == b"QUIT":
                writer.write(b"221 bye\r\n")
                await writer.drain()
                writer.close()
                return
            else:
                writer.write(b"250 ok\r\n")
        await writer.drain()
    writer.close()


async def main(port: int) -> None:
    server = await asyncio.start_server(serve_client, "127.0.0.1", port)
    print("PORT", server.sockets[0].getsockname()[1], flush=True)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    async with server:
        await stop.wait()
    print(
        "MESSAGES", COUNTS["messages"], "BYTES", COUNTS["bytes"], "LAST", COUNTS["last"], flush=True
    )


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 0))
