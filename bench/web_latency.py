"""Public pages under load: gunicorn (2 sync workers) on PostgreSQL, 50 concurrent clients.

    python bench/web_latency.py [--seconds 20] [--rounds 3] [--connections 50] [--workers 2]
                                [--database-url postgresql://postgres@127.0.0.1:5432/]
                                [--endpoints accessibility,subscribe,signup,issues]

Creates a fresh PostgreSQL database (dropped at the end), prepares it as `bulletin init`
does, and starts the app with deploy/gunicorn.conf.py (production mode; only the bind address
and the number of workers are overridden). Then, one endpoint after another, N clients
(asyncio, raw HTTP/1.1, a new connection whenever gunicorn's sync workers close one) send
requests for --seconds each, in --rounds turns (so that load from elsewhere on the machine
falls on every endpoint alike):

  accessibility  GET /accessibility (a static page: the cheapest, the yardstick)
  subscribe      GET /subscribe (the sign-up form)
  signup         POST /subscribe, a valid sign-up: each client takes a session cookie and
                 CSRF token from the form first, then signs up a new address each time
  issues         GET /issues (the archive, empty)

and prints requests per second, p50 and p99 latency per endpoint, and each endpoint's rate as
a ratio of the cheapest page's. The sign-up rate limit is raised for the bench (the
SUBSCRIBE_RATE_LIMIT setting: all clients come from one address); everything else, the CSRF
check included, is as in production.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BENCH_RATE_LIMIT = "1000000 per minute"
ENDPOINTS = ("accessibility", "subscribe", "signup", "issues")


@dataclass
class Result:
    name: str
    latencies: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def add(self, other: Result) -> None:
        self.latencies += other.latencies
        self.seconds += other.seconds
        for key, count in other.errors.items():
            self.errors[key] = self.errors.get(key, 0) + count

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000


# -- the database and the server ------------------------------------------------------------


def admin_url(base: str) -> str:
    parts = urllib.parse.urlsplit(base)
    return urllib.parse.urlunsplit(parts._replace(path="/postgres"))


def database_url(base: str, name: str) -> str:
    parts = urllib.parse.urlsplit(base)
    return urllib.parse.urlunsplit(parts._replace(path="/" + name))


def create_database(base: str) -> str:
    name = f"bulletin_webbench_{os.getpid()}"
    with psycopg.connect(admin_url(base), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return name


def drop_database(base: str, name: str) -> None:
    with psycopg.connect(admin_url(base), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_env(url: str, port: int, instance: str) -> dict[str, str]:
    return dict(
        os.environ,
        BULLETIN_ENV="production",
        DATABASE_URL=url,
        SECRET_KEY=secrets.token_urlsafe(32),
        HASH_KEY=secrets.token_urlsafe(32),
        BASE_URL=f"http://127.0.0.1:{port}",
        BULLETIN_INSTANCE_PATH=instance,
        SUBSCRIBE_RATE_LIMIT=BENCH_RATE_LIMIT,
        PYTHONPATH=str(ROOT),
    )


def prepare(env: dict[str, str]) -> None:
    # `bulletin init`, run from this checkout.
    command = [sys.executable, "-c", "from bulletin.cli import main; main()", "init"]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit("bulletin init failed:\n" + done.stdout + done.stderr)


def start_server(env: dict[str, str], port: int, workers: int, log: Path) -> subprocess.Popen:
    """gunicorn with the deployed settings; its access log is dropped, its error log kept."""
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "-c",
        str(ROOT / "deploy/gunicorn.conf.py"),
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
    ]
    with log.open("wb") as errors:
        server = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=errors,
            start_new_session=True,
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("gunicorn exited:\n" + log.read_text(errors="replace"))
        try:
            status, _ = asyncio.run(Client(port).request("GET", "/accessibility"))
            if status == 200:
                return server
        except (OSError, asyncio.IncompleteReadError):
            pass
        time.sleep(0.2)
    stop_server(server)
    raise SystemExit("gunicorn did not answer within 60 s:\n" + log.read_text(errors="replace"))


def stop_server(server: subprocess.Popen) -> None:
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


# -- a small HTTP/1.1 client ----------------------------------------------------------------


class Client:
    """One browser-like client: a connection (reopened when the server closes it), cookies."""

    def __init__(self, port: int):
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.cookies: dict[str, str] = {}

    async def request(self, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        head = [
            f"{method} {path} HTTP/1.1",
            f"Host: 127.0.0.1:{self.port}",
            "User-Agent: web_latency",
            "Accept: text/html",
        ]
        if self.cookies:
            head.append("Cookie: " + "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        if method == "POST":
            head += [
                "Content-Type: application/x-www-form-urlencoded",
                f"Content-Length: {len(body)}",
            ]
        self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        raw = await self.reader.readuntil(b"\r\n\r\n")
        lines = raw.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        length, close = 0, False
        for line in lines[1:]:
            name, _, value = line.partition(":")
            name, value = name.strip().lower(), value.strip()
            if name == "content-length":
                length = int(value)
            elif name == "connection" and value.lower() == "close":
                close = True
            elif name == "set-cookie":
                pair = value.split(";", 1)[0]
                key, _, val = pair.partition("=")
                self.cookies[key.strip()] = val.strip()
        content = await self.reader.readexactly(length) if length else b""
        if close:
            self.close()
        return status, content

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


def form_values(html: bytes) -> dict[str, list[str]]:
    text = html.decode()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', text)
    if token is None:
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', text)
    return {
        "csrf_token": [token.group(1)],
        "topics": re.findall(r'name="topics" type="checkbox" value="([^"]+)"', text)
        or re.findall(r'name="topics"[^>]*value="([^"]+)"', text),
        "region": re.findall(r'name="region"[^>]*value="([^"]+)"', text),
    }


async def run_endpoint(name: str, port: int, connections: int, seconds: float) -> Result:
    result = Result(name)
    run_id = secrets.token_hex(3)

    async def one_client(number: int) -> None:
        client = Client(port)
        body_for = None
        if name == "signup":
            status, html = await client.request("GET", "/subscribe")
            values = form_values(html)
            counter = 0

            def body_for() -> bytes:
                nonlocal counter
                counter += 1
                return urllib.parse.urlencode(
                    {
                        "csrf_token": values["csrf_token"][0],
                        "email": f"bench-{run_id}-{number}-{counter}@example.org",
                        "name": "Bench",
                        "topics": values["topics"][:2],
                        "region": values["region"][0],
                        "language": "en",
                        "consent": "y",
                        "website": "",
                    },
                    doseq=True,
                ).encode()

        method, path, expected = {
            "accessibility": ("GET", "/accessibility", 200),
            "subscribe": ("GET", "/subscribe", 200),
            "signup": ("POST", "/subscribe", 303),
            "issues": ("GET", "/issues", 200),
        }[name]
        await start.wait()
        while not stop.is_set():
            body = body_for() if body_for else b""
            began = time.perf_counter()
            try:
                status, _ = await client.request(method, path, body)
            except (OSError, asyncio.IncompleteReadError) as exc:
                client.close()
                key = type(exc).__name__
                result.errors[key] = result.errors.get(key, 0) + 1
                continue
            elapsed = time.perf_counter() - began
            if stop.is_set():
                break
            if status == expected:
                result.latencies.append(elapsed)
            else:
                result.errors[str(status)] = result.errors.get(str(status), 0) + 1
        client.close()

    start, stop = asyncio.Event(), asyncio.Event()
    tasks = [asyncio.create_task(one_client(n)) for n in range(connections)]
    await asyncio.sleep(0.5 if name == "signup" else 0)  # sessions set up before the clock
    began = time.perf_counter()
    start.set()
    await asyncio.sleep(seconds)
    stop.set()
    result.seconds = time.perf_counter() - began
    await asyncio.gather(*tasks)
    return result


async def warm_up(port: int) -> None:
    # Each worker compiles its templates and opens its pool once: not part of any figure.
    for path in ("/accessibility", "/subscribe", "/issues"):
        for _ in range(3):
            clients = [Client(port) for _ in range(8)]
            await asyncio.gather(*(c.request("GET", path) for c in clients))
            for c in clients:
                c.close()


def report(results: list[Result], connections: int, yardstick_name: str = "accessibility") -> None:
    """A line per endpoint: rate, latency, and the rate as a ratio of the yardstick's."""
    yardstick = next((r for r in results if r.name == yardstick_name), None)
    print(
        f"\n{'endpoint':<15}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'ratio':>8}  errors"
        f"   ({connections} connections)"
    )
    for r in results:
        ratio = f"{r.rate / yardstick.rate:.2f}x" if yardstick and yardstick.rate else "-"
        errors = ", ".join(f"{k}: {v}" for k, v in sorted(r.errors.items())) or "none"
        print(
            f"{r.name:<15}{r.rate:>9.0f}{r.percentile(50):>9.1f}{r.percentile(99):>9.1f}"
            f"{ratio:>8}  {errors}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="per endpoint")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="take turns this many times, so load from elsewhere on the machine "
        "falls on every endpoint alike",
    )
    parser.add_argument(
        "--database-url",
        default="postgresql://postgres@127.0.0.1:5432/",
        help="server to create the scratch database on",
    )
    parser.add_argument("--endpoints", default=",".join(ENDPOINTS))
    args = parser.parse_args()
    names = [n.strip() for n in args.endpoints.split(",") if n.strip()]
    if args.seconds <= 0 or args.rounds < 1 or args.connections < 1:
        parser.error("--seconds, --rounds and --connections must be positive")
    unknown = set(names) - set(ENDPOINTS)
    if unknown:
        parser.error(f"unknown endpoints: {', '.join(sorted(unknown))}")

    database = create_database(args.database_url)
    server = None
    try:
        with tempfile.TemporaryDirectory(prefix="webbench-") as instance:
            port = free_port()
            env = server_env(database_url(args.database_url, database), port, instance)
            prepare(env)
            server = start_server(env, port, args.workers, Path(instance) / "gunicorn.log")
            print(
                f"gunicorn, {args.workers} sync workers (deploy/gunicorn.conf.py), production "
                f"mode, PostgreSQL database {database}; sign-up rate limit raised to "
                f"SUBSCRIBE_RATE_LIMIT={BENCH_RATE_LIMIT!r} (all clients share one address); "
                f"CSRF on. {args.seconds:g} s per endpoint in {args.rounds} turns."
            )
            asyncio.run(warm_up(port))
            results = {name: Result(name) for name in names}
            for round_number in range(1, args.rounds + 1):
                for name in names:
                    r = asyncio.run(
                        run_endpoint(name, port, args.connections, args.seconds / args.rounds)
                    )
                    results[name].add(r)
                    print(f"  round {round_number}, {name}: {r.rate:.0f} req/s", flush=True)
            report(list(results.values()), args.connections)
    finally:
        if server is not None:
            stop_server(server)
        drop_database(args.database_url, database)


if __name__ == "__main__":
    main()
