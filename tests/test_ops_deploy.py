"""deploy/: the systemd units carry the hardening options and pass `systemd-analyze verify`;
gunicorn's config file loads and names an app that gunicorn can build."""

from __future__ import annotations

import configparser
import runpy
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
UNITS = sorted(DEPLOY.glob("*.service"))
HARDENING = {
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "PrivateTmp": "yes",
    "User": "bulletin",
    "ReadWritePaths": "/var/lib/bulletin",
    "EnvironmentFile": "/etc/bulletin/bulletin.env",
    "Environment": "BULLETIN_INSTANCE_PATH=/var/lib/bulletin",
}


def service_section(unit: Path) -> dict[str, str]:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # keep the keys' case
    parser.read_string(unit.read_text())
    return dict(parser["Service"])


def test_there_is_a_unit_for_the_web_app_the_worker_and_the_bounce_server():
    assert [u.name for u in UNITS] == [
        "bulletin-bounce.service",
        "bulletin-web.service",
        "bulletin-worker.service",
    ]


@pytest.mark.parametrize("unit", UNITS, ids=lambda u: u.name)
def test_each_unit_is_hardened(unit):
    service = service_section(unit)
    assert {key: service.get(key) for key in HARDENING} == HARDENING


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze not installed")
def test_the_units_pass_systemd_analyze_verify(tmp_path):
    # The units name /opt/bulletin/venv; point them at this interpreter's bin to verify here.
    venv_bin = Path(sys.executable).parent
    for unit in UNITS:
        text = unit.read_text().replace("/opt/bulletin/venv/bin", str(venv_bin))
        (tmp_path / unit.name).write_text(text)
    done = subprocess.run(
        ["systemd-analyze", "verify", *(u.name for u in UNITS)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (done.returncode, done.stderr) == (0, "")


def test_gunicorn_config_names_the_app_factory_on_localhost():
    settings = runpy.run_path(str(DEPLOY / "gunicorn.conf.py"))
    assert settings["wsgi_app"] == "bulletin:create_app()"
    assert settings["bind"].startswith("127.0.0.1:")
    assert "%(q)s" not in settings["access_log_format"]  # no tokens from query strings
    from gunicorn.config import Config

    config = Config()
    names = [name for name in settings if not name.startswith("_") and name != "multiprocessing"]
    for name in names:  # gunicorn's own validators: an unknown or mistyped setting raises
        config.set(name, settings[name])
    assert config.workers == settings["workers"] and config.timeout == 30
