"""The quick start never leads to dead links: with BASE_URL unset, links in mail follow the
host and port `bulletin run` serves on."""

from __future__ import annotations

import http.cookiejar
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from bulletin import create_app
from bulletin.cli import served_url
from tests.support.smtp import free_port

ROOT = Path(__file__).resolve().parents[1]


def test_served_url_is_where_a_browser_here_reaches_the_server():
    assert served_url("127.0.0.1", 5123) == "http://127.0.0.1:5123"
    assert served_url("0.0.0.0", 8000) == "http://127.0.0.1:8000"
    assert served_url("::1", 8000) == "http://[::1]:8000"
    assert served_url("bulletin.local", 80) == "http://bulletin.local:80"


def test_an_unset_base_url_is_marked_to_follow_the_server():
    from bulletin.config import TestConfig

    follows = create_app({**_config(TestConfig), "BASE_URL": "", "DATABASE_URL": "sqlite://"})
    assert follows.config["BASE_URL_FOLLOWS_SERVER"]
    assert follows.config["BASE_URL"] == "http://127.0.0.1:5000"
    fixed = create_app({**_config(TestConfig), "BASE_URL": "https://news.example.org"})
    assert not fixed.config["BASE_URL_FOLLOWS_SERVER"]


def _config(cls) -> dict:
    return {k: getattr(cls, k) for k in dir(cls) if k.isupper()}


def _get(opener, url: str) -> str:
    with opener.open(url, timeout=10) as response:
        return response.read().decode()


def _wait_until_serving(opener, url: str, process: subprocess.Popen) -> str:
    deadline = time.monotonic() + 60
    while True:
        try:
            return _get(opener, url)
        except (urllib.error.URLError, ConnectionError):
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("bulletin run did not start") from None
            time.sleep(0.2)


@pytest.mark.slow
def test_links_in_mail_follow_bulletin_run_port(smtp_server, tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "BASE_URL"}
    env.update(
        BULLETIN_INSTANCE_PATH=str(tmp_path / "instance"),
        DATABASE_URL=f"sqlite:///{tmp_path / 'run.sqlite3'}",
        SMTP_URL=smtp_server.url,
        SECRET_KEY="test-secret-key-for-the-quick-start-test",
        WORKER_TICK_SECONDS="0.2",
        BULLETIN_ENV="development",
    )
    command = [sys.executable, "-c", "from bulletin.cli import main; main()"]
    with open(tmp_path / "run.log", "w") as log:
        process = subprocess.Popen(
            [*command, "run", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )
        base = f"http://127.0.0.1:{port}"
        page = _wait_until_serving(opener, f"{base}/subscribe?lang=en", process)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        topic = re.search(r'name="topics" type="checkbox" value="([^"]+)"', page).group(1)
        form = {
            "csrf_token": token,
            "email": "new@example.org",
            "topics": topic,
            "region": "mid-wales",
            "language": "en",
            "consent": "y",
        }
        data = urllib.parse.urlencode(form).encode()
        opener.open(f"{base}/subscribe", data=data, timeout=10)
        [received] = smtp_server.wait_for(1, timeout=60)
        text = received.message.get_body(("plain",)).get_content()
        [link] = re.findall(r"http://\S+/confirm/\S+", text)
        assert link.startswith(f"{base}/confirm/"), (link, (tmp_path / "run.log").read_text())
        assert "Confirm" in _get(opener, link)  # the link is live
    finally:
        process.terminate()
        process.wait(30)
