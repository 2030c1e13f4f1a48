"""The layout holds: the import contract, one route table per door, one list of API operations."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_the_import_contract_holds():
    # The same check .ci/run makes: doors -> web -> privacy -> core -> mail -> models, no door
    # importing another, and bounce classification importing nothing of the app.
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or "lint-imports"
    result = subprocess.run(
        [lint, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout[-4000:]
    assert "0 broken" in result.stdout


def test_the_openapi_document_needs_no_import_side_effect(client):
    # A fresh interpreter that imports only the API's route table builds the same document the
    # running app serves: no operation depends on some other module having been imported first.
    script = (
        "import json\n"
        "from bulletin.api.openapi import build_document\n"
        "from bulletin.api.routes import OPERATIONS\n"
        "print(json.dumps(build_document('X', [v.operation for v in OPERATIONS])))\n"
    )
    fresh = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    built = json.loads(fresh.stdout)
    served = client.get("/api/v1/openapi.json").get_json()
    assert built["paths"] == served["paths"]
    assert len(built["paths"]) > 10


@pytest.mark.parametrize(
    "prefix, blueprint",
    [
        ("/subscribe", "public"),
        ("/issues", "archive"),
        ("/editor/login", "editor"),
        ("/editor/sends", "sends"),
        ("/editor/subscribers", "editor_subscribers"),
        ("/editor/suppressions", "bounce_admin"),
        ("/editor/api-tokens", "api_tokens"),
        ("/api/v1/topics", "api"),
        ("/webhooks/", "webhooks"),
    ],
)
def test_every_door_is_registered_by_create_app(app, prefix, blueprint):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules() if rule.rule.startswith(prefix)}
    assert any(endpoint.startswith(blueprint + ".") for endpoint in endpoints), endpoints
