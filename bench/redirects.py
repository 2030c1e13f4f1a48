"""Counted links under load: redirects per second from gunicorn, against /healthz in the same run.

    python bench/redirects.py [--seconds 20] [--rounds 3] [--connections 50] [--workers 2]
                              [--database-url postgresql://postgres@127.0.0.1:5432/ | sqlite]

Prepares a fresh database as `bulletin init` does (PostgreSQL: a scratch database, dropped
at the end; `sqlite`: a file in a temporary instance folder), adds one send with one
counted link, and starts the app with deploy/gunicorn.conf.py (production mode; only the
bind address and the number of workers are overridden). Then N clients (asyncio, raw
HTTP/1.1 keep-alive, bench/web_latency.py's client) take turns on:

  healthz   GET /healthz (a static answer: the yardstick, same server, same clients)
  redirect  GET /r/TOKEN as a browser: verify the token, one indexed UPDATE ... SET
            clicks = clicks + 1 ... RETURNING target, commit, 302 to the target
  scanner   GET /r/TOKEN with a scanner's User-Agent (the scanner count instead)
  head      HEAD /r/TOKEN (counts nothing: one SELECT)

and prints requests per second, p50 and p99 latency, and the ratio to /healthz. At the end
it checks that the link's counts equal the counted answers the clients received (no click
is lost or counted twice under concurrency).
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from web_latency import (
    ROOT,
    Client,
    Result,
    create_database,
    database_url,
    drop_database,
    free_port,
    prepare,
    report,
    server_env,
    start_server,
    stop_server,
)

ENDPOINTS = ("healthz", "redirect", "scanner", "head")
TARGET = "https://example.org/study?from=bulletin"
SEED = """
from bulletin import create_app
from bulletin.extensions import db
from bulletin.mail.tokens import make_click_token
from bulletin.models import ClickLink, Issue, Send
app = create_app()
with app.app_context():
    issue = Issue(slug="bench", subject_en="Bench", subject_cy="Mainc")
    send = Send(issue=issue, status="done")
    db.session.add(send)
    db.session.flush()
    link = ClickLink(send_id=send.id, link_key="bench", item_kind="intro", role="text",
                     target=%r, item_order=0)
    db.session.add(link)
    db.session.commit()
    print(make_click_token(send.id, link.id))
"""
COUNTS = """
from bulletin import create_app
from bulletin.extensions import db
from bulletin.models import ClickLink
app = create_app()
with app.app_context():
    link = db.session.query(ClickLink).one()
    print(link.clicks, link.scanner_hits)
"""


def python(env: dict[str, str], code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if done.returncode:
        raise SystemExit(done.stdout + done.stderr)
    return done.stdout.strip()


class Agent(Client):
    """web_latency's client with a chosen User-Agent."""

    agent = "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0"

    async def request(self, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
        self.writer.write(f"{head}User-Agent: {self.agent}\r\n\r\n".encode())
        raw = await self.reader.readuntil(b"\r\n\r\n")
        lines = raw.decode("latin-1").split("\r\n")
        length, close = 0, False
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
            elif name.strip().lower() == "connection" and "close" in value.lower():
                close = True
        if length and method != "HEAD":
            await self.reader.readexactly(length)
        if close:
            self.close()
        return int(lines[0].split()[1]), b""


async def run_endpoint(
    name: str, port: int, token: str, connections: int, seconds: float, answered: dict
) -> Result:
    method, path, expected, agent = {
        "healthz": ("GET", "/healthz", 200, Agent.agent),
        "redirect": ("GET", f"/r/{token}", 302, Agent.agent),
        "scanner": ("GET", f"/r/{token}", 302, "Mozilla/5.0 (compatible; bingbot/2.0)"),
        "head": ("HEAD", f"/r/{token}", 302, Agent.agent),
    }[name]
    result = Result(name)
    start, stop = asyncio.Event(), asyncio.Event()

    async def one_client() -> None:
        client = Agent(port)
        client.agent = agent
        await start.wait()
        while not stop.is_set():
            began = time.perf_counter()
            try:
                status, _ = await client.request(method, path)
            except (OSError, asyncio.IncompleteReadError) as exc:
                client.close()
                result.errors[type(exc).__name__] = result.errors.get(type(exc).__name__, 0) + 1
                continue
            if status == expected:
                answered[name] = answered.get(name, 0) + 1  # counted even after the clock
                if not stop.is_set():
                    result.latencies.append(time.perf_counter() - began)
            else:
                result.errors[str(status)] = result.errors.get(str(status), 0) + 1
        client.close()

    tasks = [asyncio.create_task(one_client()) for _ in range(connections)]
    began = time.perf_counter()
    start.set()
    await asyncio.sleep(seconds)
    stop.set()
    result.seconds = time.perf_counter() - began
    await asyncio.gather(*tasks)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="per endpoint")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--database-url",
        default="postgresql://postgres@127.0.0.1:5432/",
        help="server to create the scratch database on, or `sqlite`",
    )
    parser.add_argument("--endpoints", default=",".join(ENDPOINTS))
    args = parser.parse_args()
    names = [n.strip() for n in args.endpoints.split(",") if n.strip()]
    if set(names) - set(ENDPOINTS) or args.seconds <= 0 or args.rounds < 1:
        parser.error(f"endpoints are {', '.join(ENDPOINTS)}; seconds and rounds positive")
    sqlite = args.database_url == "sqlite"
    database = None if sqlite else create_database(args.database_url)
    server = None
    try:
        with tempfile.TemporaryDirectory(prefix="redirectbench-") as instance:
            port = free_port()
            url = (
                f"sqlite:///{instance}/bench.sqlite3"
                if sqlite
                else database_url(args.database_url, database)
            )
            env = server_env(url, port, instance)
            prepare(env)
            token = python(env, SEED % TARGET)
            server = start_server(env, port, args.workers, Path(instance) / "gunicorn.log")
            print(
                f"gunicorn, {args.workers} sync workers (deploy/gunicorn.conf.py), production "
                f"mode, {'SQLite' if sqlite else 'PostgreSQL'}; {args.connections} keep-alive "
                f"connections; {args.seconds:g} s per endpoint in {args.rounds} turns."
            )
            answered: dict[str, int] = {}
            asyncio.run(run_endpoint("healthz", port, token, 8, 1.0, {}))  # warm up
            results = {name: Result(name) for name in names}
            for round_number in range(1, args.rounds + 1):
                for name in names:
                    r = asyncio.run(
                        run_endpoint(
                            name,
                            port,
                            token,
                            args.connections,
                            args.seconds / args.rounds,
                            answered,
                        )
                    )
                    results[name].add(r)
                    print(f"  round {round_number}, {name}: {r.rate:.0f} req/s", flush=True)
            report([results[n] for n in names], args.connections, yardstick_name="healthz")
            clicks, scans = map(int, python(env, COUNTS).split())
            print(
                f"\nclicks stored {clicks} for {answered.get('redirect', 0)} counted answers; "
                f"scanner hits {scans} for {answered.get('scanner', 0)}; "
                f"HEAD answers {answered.get('head', 0)} counted nothing"
            )
            if (clicks, scans) != (answered.get("redirect", 0), answered.get("scanner", 0)):
                raise SystemExit("the stored counts differ from the answers")
    finally:
        if server is not None:
            stop_server(server)
        if database is not None:
            drop_database(args.database_url, database)


if __name__ == "__main__":
    main()
