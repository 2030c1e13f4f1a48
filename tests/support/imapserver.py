"""A tiny real IMAP server for tests: only what imaplib's client needs to poll a mailbox.

CAPABILITY, LOGIN, SELECT, UID SEARCH (UNKEYWORD/UNDELETED), UID FETCH (BODY.PEEK[]),
UID STORE (+FLAGS), LOGOUT. It runs on its own asyncio loop in a thread, on 127.0.0.1;
given an ssl.SSLContext (tests/support/tlscerts.py) it speaks IMAP over TLS, as an imaps:// server.
"""

from __future__ import annotations

import asyncio
import re
import shlex
import ssl
import threading
from dataclasses import dataclass, field

from tests.support.smtp import free_port


@dataclass
class Stored:
    raw: bytes
    flags: set[str] = field(default_factory=set)


class ImapServer:
    def __init__(
        self,
        user: str = "bounces",
        password: str = "s3cret p@ss",
        mailbox: str = "INBOX",
        tls: ssl.SSLContext | None = None,
    ):
        self.user, self.password, self.mailbox = user, password, mailbox
        self.tls = tls
        self.messages: dict[int, Stored] = {}
        self.commands: list[str] = []
        self.port = free_port()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.server: asyncio.AbstractServer | None = None

    def add(self, raw: bytes) -> int:
        uid = max(self.messages, default=0) + 1
        self.messages[uid] = Stored(raw)
        return uid

    def start(self) -> ImapServer:
        self.thread.start()
        future = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self.serve, "127.0.0.1", self.port, ssl=self.tls), self.loop
        )
        self.server = future.result(timeout=10)
        return self

    def stop(self) -> None:
        async def close():
            self.server.close()
            await self.server.wait_closed()

        asyncio.run_coroutine_threadsafe(close(), self.loop).result(timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"* OK test IMAP server ready\r\n")
        state = {"auth": False}
        while line := await reader.readline():
            tag, _, rest = line.decode().rstrip("\r\n").partition(" ")
            command, _, args = rest.partition(" ")
            self.commands.append(f"{command.upper()} {args}".strip())
            reply = self.handle(command.upper(), args, state)
            writer.write(reply.replace(b"{tag}", tag.encode()))
            await writer.drain()
            if command.upper() == "LOGOUT":
                break
        writer.close()

    def handle(self, command: str, args: str, state: dict) -> bytes:
        if command == "CAPABILITY":
            return b"* CAPABILITY IMAP4rev1\r\n{tag} OK done\r\n"
        if command == "LOGOUT":
            return b"* BYE bye\r\n{tag} OK done\r\n"
        if command == "LOGIN":
            user, password = shlex.split(args)
            state["auth"] = (user, password) == (self.user, self.password)
            return b"{tag} OK logged in\r\n" if state["auth"] else b"{tag} NO login failed\r\n"
        if not state["auth"]:
            return b"{tag} BAD log in first\r\n"
        if command == "SELECT":
            if shlex.split(args)[0] != self.mailbox:
                return b"{tag} NO no such mailbox\r\n"
            return (
                f"* {len(self.messages)} EXISTS\r\n* FLAGS (\\Seen \\Deleted)\r\n"
                "{tag} OK [READ-WRITE] selected\r\n"
            ).encode()
        if command == "UID":
            return self.uid(*args.split(" ", 1))
        return b"{tag} BAD unknown command\r\n"

    def uid(self, command: str, args: str) -> bytes:
        command = command.upper()
        if command == "SEARCH":
            keyword = re.search(r"UNKEYWORD (\S+)", args, re.IGNORECASE)
            hidden = {"\\Deleted", keyword.group(1) if keyword else "\\Deleted"}
            found = [uid for uid, m in sorted(self.messages.items()) if not hidden & m.flags]
            return f"* SEARCH {' '.join(map(str, found))}\r\n{{tag}} OK done\r\n".encode()
        uid_text, _, rest = args.partition(" ")
        stored = self.messages.get(int(uid_text))
        seq = list(sorted(self.messages)).index(int(uid_text)) + 1 if stored else 0
        if stored is None:
            return b"{tag} OK nothing\r\n"
        if command == "FETCH":
            head = f"* {seq} FETCH (UID {uid_text} BODY[] {{{len(stored.raw)}}}\r\n".encode()
            return head + stored.raw + b")\r\n{tag} OK done\r\n"
        if command == "STORE":
            flags = re.search(r"\((.*)\)", rest).group(1).split()
            stored.flags.update(flags)
            return (
                f"* {seq} FETCH (UID {uid_text} FLAGS ({' '.join(sorted(stored.flags))}))"
                "\r\n{tag} OK done\r\n"
            ).encode()
        return b"{tag} BAD unknown UID command\r\n"
