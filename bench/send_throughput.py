"""Send throughput: our worker code end to end vs bare smtplib, against two sinks.

    python bench/send_throughput.py [--n 100000] [--database-url URL] [--connections 4]
                                    [--sinks minimal,aiosmtpd] [--dkim] [--materialise-only]
                                    [--merge-fields]
    python bench/send_throughput.py --workers 2 --database-url postgresql://... --n 1000000

Seeds N confirmed subscribers with one set-based INSERT, then for each sink: runs one real
send (materialise, render, send, record) in a worker subprocess and reports its rate, peak
RSS and materialise time; then blasts N pre-rendered messages with bare smtplib over the
same number of connections to the same sink. The database is emptied first: use a scratch
database for --database-url. With --merge-fields, every reader has a name and two topics and
the issue's subject, introduction and news titles use {{ first_name }}, {{ name }}, {{ region }}
and {{ topics }} (mail/merge.py), so each message joins a reader's own values in.

With --workers N (PostgreSQL): N real `bulletin worker` processes run; the send is scheduled
through the core verb and timed to the last message the sink received, against bare
smtplib sending as many on N x --connections connections to the same sink in the same
run. While it sends, the editor's send page and its progress JSON and a public page are
fetched every --sample seconds (their latency is reported), and the progress figures give
the rate over the first and the last tenth of the send: a claim whose cost grew with the
queue shows as a slower end.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import smtplib
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from flask import current_app  # noqa: E402
from sqlalchemy import text  # noqa: E402

from bulletin import create_app  # noqa: E402
from bulletin.extensions import db  # noqa: E402

LOREM = (
    "Mae'r gweithdy hwn yn esbonio sut i gynnwys y cyhoedd mewn ymchwil iechyd a gofal "
    "cymdeithasol: ŵ ŷ â ô. This workshop explains how to involve the public in health "
    "and social care research, with time for questions and a short exercise. "
)


def base_env(database_url: str, smtp_url: str | None = None, **extra) -> dict[str, str]:
    env = dict(
        os.environ,
        DATABASE_URL=database_url,
        SECRET_KEY="bench-secret",
        BASE_URL="https://bulletin.example.org",
        MAIL_FROM="Research bulletin <bulletin@example.org>",
        BOUNCE_DOMAIN="bounces.example.org",
        WORKER_TICK_SECONDS="0.2",
        SEND_BATCH_SIZE="200",
        OUTBOX_DIR=tempfile.gettempdir(),
    )
    if smtp_url:
        env["SMTP_URL"] = smtp_url
    env.update({k: str(v) for k, v in extra.items()})
    return env


def make_app(database_url: str):
    # Config reads the environment at import: pass the bench settings as a mapping.
    keys = ("SECRET_KEY", "BASE_URL", "MAIL_FROM", "BOUNCE_DOMAIN", "OUTBOX_DIR")
    env = base_env(database_url)
    config = {key: env[key] for key in keys}
    config.update(DATABASE_URL=database_url, SECRET_KEYS=[env["SECRET_KEY"]])
    del config["SECRET_KEY"]
    return create_app(config)


#: --merge-fields: readers with names and topics, an issue that uses them.
MERGE = {"on": False}


def seed(n: int) -> float:
    """N confirmed subscribers in one INSERT ... SELECT; returns seconds taken."""
    from bulletin.models import utcnow

    now = utcnow().replace(tzinfo=None)
    started = time.perf_counter()
    columns = (
        "uid, email, email_key, status, language, region, created_at, updated_at, confirmed_at"
    )
    values = (
        "'confirmed', CASE WHEN i % 5 = 0 THEN 'cy' ELSE 'en' END, 'south-east-wales', "
        ":now, :now, :now"
    )
    if db.engine.dialect.name == "postgresql":
        sql = (
            f"INSERT INTO subscriber ({columns}) SELECT md5(i::text), 'b' || i || "
            f"'@example.com', 'b' || i || '@example.com', {values} "
            f"FROM generate_series(1, :n) AS i"
        )
        params = {"n": n, "now": now}
    else:
        sql = (
            f"WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq "
            f"WHERE i < :n) INSERT INTO subscriber ({columns}) SELECT "
            f"lower(hex(randomblob(16))), 'b' || i || '@example.com', 'b' || i || "
            f"'@example.com', {values} FROM seq"
        )
        params = {"n": n, "now": now.strftime("%Y-%m-%d %H:%M:%S.%f")}
    db.session.execute(text(sql), params)
    if MERGE["on"]:
        db.session.execute(text("UPDATE subscriber SET name = 'Reader Number ' || id"))
        db.session.execute(
            text(
                "INSERT INTO subscriber_topic (subscriber_id, topic_id) SELECT s.id, t.id "
                "FROM subscriber s JOIN topic t ON t.position IN (0, 3)"
            )
        )
    db.session.commit()
    return time.perf_counter() - started


def prepare(n: int) -> float:
    from bulletin.core.defaults import ensure_defaults

    db.drop_all()
    db.create_all()
    ensure_defaults()
    return seed(n)


def new_send(status: str = "scheduled") -> int:
    """A fresh issue (about 30 KB of mail) and a send due now."""
    from bulletin.models import Issue, IssueItem, Send, utcnow

    db.session.execute(text("DELETE FROM delivery"))
    stamp = time.time_ns()
    hello = "{{ first_name | default('there') }}, " if MERGE["on"] else ""
    fields = "Dear {{ name }} in {{ region }}: {{ topics }}. " if MERGE["on"] else ""
    issue = Issue(
        slug=f"bench-{stamp}",
        subject_en=f"{hello}Research bulletin: new workshops",
        subject_cy=f"{hello}Bwletin ymchwil: gweithdai newydd ŵ",
        intro_en=fields + LOREM,
        intro_cy=fields + LOREM,
    )
    for position in range(12):
        issue.items.append(
            IssueItem(
                section="news",
                kind="news",
                position=position,
                title_en=f"{hello}News item {position}",
                title_cy=f"{hello}Eitem newyddion {position}",
                body_en=LOREM * 4,
                body_cy=LOREM * 4,
            )
        )
    send = Send(issue=issue, audience="{}", status=status, scheduled_at=utcnow())
    db.session.add(send)
    db.session.commit()
    return send.id


def worker_part() -> None:
    """In the subprocess: materialise and send through the worker code, report JSON."""
    from bulletin.delivery.engine import SendEngine
    from bulletin.delivery.pipeline import start_due_sends
    from bulletin.mail.settings import DeliverySettings

    app = create_app()
    with app.app_context():
        settings = DeliverySettings.from_app(app)
        started = time.perf_counter()
        start_due_sends(settings)
        materialised = time.perf_counter() - started
        db.session.remove()
        engine = SendEngine(app, settings, "bench")
        started = time.perf_counter()
        engine.drain(timeout=3600)
        seconds = time.perf_counter() - started - 0.2  # less one idle tick that ends drain
    usage = resource.getrusage(resource.RUSAGE_SELF)
    peak_kb = usage.ru_maxrss
    print(
        json.dumps(
            {
                "cpu_s": usage.ru_utime + usage.ru_stime,
                "materialise_s": materialised,
                "send_s": seconds,
                "sent": engine.counters.sent,
                "peak_rss_mb": peak_kb / 1024,
                "max_unrecorded": engine.counters.max_unrecorded,
            }
        ),
        flush=True,
    )


def start_sink(kind: str) -> tuple[subprocess.Popen, str]:
    if kind == "minimal":
        command = [sys.executable, str(HERE / "sink.py"), "0"]
    else:
        command = [sys.executable, str(HERE / "aiosmtpd_sink.py")]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    port = process.stdout.readline().split()[1]
    return process, f"smtp://127.0.0.1:{port}"


def stop_sink(process: subprocess.Popen) -> str:
    process.terminate()
    out = process.communicate(timeout=30)[0]
    return out.strip()


def run_ours(
    database_url: str, smtp_url: str, connections: int, dkim_env: dict, profile: str | None = None
) -> dict:
    env = base_env(database_url, smtp_url, SMTP_CONNECTIONS=connections, **dkim_env)
    command = [sys.executable, __file__, "--worker-part"]
    if profile:  # py-spy's collapsed stacks, for flamegraph.pl or a quick grep
        spy = str(Path(sys.executable).with_name("py-spy"))
        command = [spy, "record", "--gil", "--format", "raw", "-o", profile, "--", *command]
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"worker part failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def prerender(send_id: int, count: int) -> list[tuple[bytes, str, str]]:
    from bulletin.delivery.templates import build_template
    from bulletin.mail.messages import Personal
    from bulletin.mail.settings import DeliverySettings
    from bulletin.models import Send

    settings = DeliverySettings.from_app(current_app)
    template = build_template(db.session.get(Send, send_id), "en", settings)
    built = [
        template.personalise(Personal(i, f"{i:032x}", f"b{i}@example.com")) for i in range(count)
    ]
    return [(b.message, b.sender, b.recipient) for b in built]


BARE_CPU: list[float] = []


def run_bare(smtp_url: str, messages: list, n: int, connections: int) -> float:
    """Seconds to send n pre-rendered messages with bare smtplib on `connections` threads."""
    host, port = smtp_url.rsplit("/", 1)[1].split(":")

    def blast(share: int) -> None:
        conn = smtplib.SMTP(host, int(port))
        for i in range(share):
            message, sender, recipient = messages[i % len(messages)]
            conn.sendmail(sender, [recipient], message)
        conn.quit()

    shares = [n // connections + (1 if i < n % connections else 0) for i in range(connections)]
    threads = [threading.Thread(target=blast, args=(s,)) for s in shares]
    started, cpu = time.perf_counter(), time.process_time()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    BARE_CPU.append(time.process_time() - cpu)
    return time.perf_counter() - started


def dkim_settings(enabled: bool) -> dict:
    if not enabled:
        return {}
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = Path(tempfile.mkdtemp()) / "dkim.pem"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return {
        "DKIM_SELECTOR": "bench",
        "DKIM_DOMAIN": "example.org",
        "DKIM_PRIVATE_KEY_PATH": str(path),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--database-url")
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--sinks", default="minimal,aiosmtpd")
    parser.add_argument("--dkim", action="store_true", help="sign every message (ours only)")
    parser.add_argument("--materialise-only", action="store_true")
    parser.add_argument("--profile", help="py-spy the worker part into PROFILE.<sink>.txt")
    parser.add_argument(
        "--workers",
        type=int,
        default=0,
        help="run N `bulletin worker` processes (PostgreSQL) on one send",
    )
    parser.add_argument(
        "--sample", type=float, default=2.0, help="with --workers: seconds between page samples"
    )
    parser.add_argument(
        "--merge-fields", action="store_true", help="readers' names, regions, topics in the text"
    )
    parser.add_argument("--worker-part", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    MERGE["on"] = args.merge_fields
    if args.worker_part:
        return worker_part()
    url = args.database_url or f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3"
    app = make_app(url)
    with app.app_context():
        print(
            f"database {db.engine.dialect.name}, N={args.n}, "
            f"{args.connections} connection(s), DKIM {'on' if args.dkim else 'off'}"
        )
        print(f"seeded {args.n} subscribers in {prepare(args.n):.2f} s")
        if args.materialise_only:
            return materialise_only()
        if args.workers:
            return workers_run(app, url, args)
        for sink in args.sinks.split(","):
            compare(url, sink, args)


def materialise_only() -> None:
    from bulletin.delivery.pipeline import start_due_sends
    from bulletin.mail.settings import DeliverySettings

    new_send()
    started = time.perf_counter()
    start_due_sends(DeliverySettings.from_app(current_app))
    count = db.session.scalar(text("SELECT count(*) FROM delivery"))
    print(f"materialised {count} deliveries in {time.perf_counter() - started:.2f} s")


def compare(url: str, sink: str, args) -> None:
    send_id = new_send()
    db.session.remove()
    process, smtp_url = start_sink(sink)
    try:
        messages = prerender(send_id, 200)
        db.session.remove()
        # The machine is shared: bare runs before and after ours, and the mean is compared.
        before = run_bare(smtp_url, messages, args.n, args.connections)
        ours = run_ours(
            url,
            smtp_url,
            args.connections,
            dkim_settings(args.dkim),
            args.profile and f"{args.profile}.{sink}.txt",
        )
        after = run_bare(smtp_url, messages, args.n, args.connections)
        bare_s = (before + after) / 2
    finally:
        counted = stop_sink(process)
    ours_rate, bare_rate = ours["sent"] / ours["send_s"], args.n / bare_s
    print(
        f"[{sink}] ours: {ours['sent']} sent in {ours['send_s']:.1f} s = {ours_rate:.0f} msg/s;"
        f" bare smtplib: {bare_rate:.0f} msg/s (before {args.n / before:.0f}, after "
        f"{args.n / after:.0f}); ratio ours/bare {ours_rate / bare_rate:.2f}"
    )
    print(
        f"[{sink}] materialise {ours['materialise_s']:.2f} s, worker peak RSS "
        f"{ours['peak_rss_mb']:.0f} MB, max sent-but-unrecorded {ours['max_unrecorded']}, "
        f"message size {len(messages[0][0]) / 1024:.1f} KB; sink: {counted}"
    )
    print(
        f"[{sink}] CPU per message: ours {ours['cpu_s'] / max(1, ours['sent']) * 1e6:.0f} us "
        f"(whole worker process, start-up and rendering included), bare "
        f"{BARE_CPU[-1] / args.n * 1e6:.0f} us"
    )


def run_bare_processes(
    smtp_url: str, messages: list, n: int, processes: int, connections: int
) -> float:
    """Bare smtplib with the workers' parallelism: `processes` x `connections` threads."""
    import multiprocessing

    shares = [n // processes + (1 if i < n % processes else 0) for i in range(processes)]
    context = multiprocessing.get_context("fork")
    children = [
        context.Process(target=run_bare, args=(smtp_url, messages, share, connections))
        for share in shares
    ]
    started = time.perf_counter()
    for child in children:
        child.start()
    for child in children:
        child.join()
    return time.perf_counter() - started


def start_workers(url: str, smtp_url: str, count: int, connections: int) -> list:
    env = base_env(
        url,
        smtp_url,
        SMTP_CONNECTIONS=connections,
        SEND_BATCH_SIZE=200,
        PYTHONPATH=str(HERE.parent),
    )
    command = [sys.executable, "-c", "from bulletin.cli import main; main()", "worker"]
    logs = Path(tempfile.mkdtemp(prefix="bench-workers-"))
    workers = []
    for i in range(count):
        with open(logs / f"worker-{i}.log", "w") as log:
            workers.append(
                subprocess.Popen(
                    command, cwd=HERE.parent, env=env, stdout=log, stderr=subprocess.STDOUT
                )
            )
    print(f"{count} worker(s) started; logs in {logs}")
    return workers


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


class Sampler(threading.Thread):
    """Fetches the editor's send page, its progress JSON and a public page every `every` s."""

    def __init__(self, app, send_id: int, every: float):
        super().__init__(daemon=True)
        self.app, self.send_id, self.every = app, send_id, every
        self.stop = threading.Event()
        self.latency: dict[str, list[float]] = {
            "send page": [],
            "progress.json": [],
            "public page": [],
        }
        self.progress: list[tuple[float, int]] = []  #: (epoch time, sent)
        self.errors = 0

    def run(self) -> None:
        from bulletin.core.editors import hash_password
        from bulletin.core.sessions import open_session
        from bulletin.models import Editor

        with self.app.app_context():
            editor = Editor(
                email=f"bench-{time.time_ns()}@example.org",
                role="admin",
                name="Bench",
                password_hash=hash_password("bench-password-123"),
            )
            db.session.add(editor)
            db.session.commit()
            client = self.app.test_client()
            open_session(editor)
            db.session.commit()
            with client.session_transaction() as session:
                session["_user_id"], session["_fresh"] = editor.get_id(), True
            db.session.remove()
            pages = {
                "send page": f"/editor/sends/{self.send_id}",
                "progress.json": f"/editor/sends/{self.send_id}/progress.json",
                "public page": "/issues",
            }
            while not self.stop.wait(self.every):
                for name, path in pages.items():
                    started = time.perf_counter()
                    response = client.get(path)
                    self.latency[name].append(time.perf_counter() - started)
                    if response.status_code != 200:
                        self.errors += 1
                    elif name == "progress.json":
                        self.progress.append((time.time(), response.get_json()["sent"]))


def workers_run(app, url: str, args) -> None:
    """N real workers on one send, from the core verb to the sink's last message."""
    from bulletin.core.sends import schedule_send
    from bulletin.models import Send, SendStatus

    if db.engine.dialect.name != "postgresql":
        raise SystemExit("--workers needs --database-url postgresql://... (SKIP LOCKED)")
    draft = new_send(status=SendStatus.DRAFT)
    issue_id = db.session.get(Send, draft).issue_id
    process, smtp_url = start_sink(args.sinks.split(",")[0])
    workers = []
    try:
        messages = prerender(draft, 200)
        db.session.remove()
        bare_s = run_bare_processes(smtp_url, messages, args.n, args.workers, args.connections)
        print(
            f"bare smtplib: {args.n} messages by {args.workers} process(es) x "
            f"{args.connections} connection(s) in {bare_s:.1f} s = {args.n / bare_s:.0f} msg/s"
        )
        workers = start_workers(url, smtp_url, args.workers, args.connections)
        time.sleep(3)  # let them import and start their clocks: not part of the send
        from bulletin.models import Issue

        started = time.time()
        send = schedule_send(db.session.get(Issue, issue_id), "{}", None, None)
        db.session.commit()
        send_id = send.id
        db.session.remove()
        sampler = Sampler(app, send_id, args.sample)
        sampler.start()
        while True:
            time.sleep(1.0)
            status = db.session.scalar(
                text("SELECT status FROM send WHERE id = :id"), {"id": send_id}
            )
            db.session.remove()
            if status == SendStatus.DONE:
                break
            if any(w.poll() is not None for w in workers):
                raise SystemExit("a worker died: see its log")
        sampler.stop.set()
        sampler.join()
        rss = [peak_rss_mb(w.pid) for w in workers]
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            worker.wait(120)
        counted = stop_sink(process)
    last = float(counted.split("LAST")[1])
    ours_s = last - started
    print(
        f"ours: {args.n} messages by {args.workers} worker(s) x {args.connections} "
        f"connection(s), from schedule_send to the sink's last message: {ours_s:.1f} s = "
        f"{args.n / ours_s:.0f} msg/s; bare smtplib {bare_s:.1f} s; ratio ours/bare "
        f"{ours_s / bare_s:.2f}; sink: {counted.split(' LAST')[0]}"
    )
    print("peak RSS per worker: " + ", ".join(f"{mb:.0f} MB" for mb in rss))
    for name, values in sampler.latency.items():
        if values:
            values = sorted(values)
            print(
                f"{name} during the send: {len(values)} samples, median "
                f"{values[len(values) // 2] * 1000:.0f} ms, p95 "
                f"{values[int(len(values) * 0.95)] * 1000:.0f} ms, max "
                f"{values[-1] * 1000:.0f} ms"
            )
    if sampler.errors:
        print(f"{sampler.errors} page fetch(es) did not answer 200")
    print_flatness(sampler.progress, started, args.n)


def print_flatness(progress: list[tuple[float, int]], started: float, n: int) -> None:
    """Rate over the first and the last tenth of the messages, from the progress samples."""
    moving = [(t, sent) for t, sent in progress if 0 < sent < n]
    if len(moving) < 4:
        print("too few progress samples for the rate at the start and the end")
        return
    first_at = moving[0]
    print(f"first message recorded by {first_at[0] - started:.1f} s (materialise and claim)")

    def rate(lo: float, hi: float) -> str:
        inside = [(t, s) for t, s in moving if lo * n <= s <= hi * n]
        if len(inside) < 2 or inside[-1][0] == inside[0][0]:
            return "n/a"
        (t0, s0), (t1, s1) = inside[0], inside[-1]
        return f"{(s1 - s0) / (t1 - t0):.0f} msg/s ({(t1 - t0) / (s1 - s0) * 1e6:.0f} us/msg)"

    print(
        f"rate over sent 0-10%: {rate(0.0, 0.1)}; 10-20%: {rate(0.1, 0.2)}; "
        f"45-55%: {rate(0.45, 0.55)}; 80-90%: {rate(0.8, 0.9)}; 90-100%: {rate(0.9, 1.0)}"
    )


if __name__ == "__main__":
    main()
