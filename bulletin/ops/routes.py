"""The operator's door: /healthz, /readyz and /metrics, request ids, request metrics, JSON logs."""

from __future__ import annotations

import hmac
import time

from flask import Blueprint, Flask, Response, abort, current_app, g, jsonify, request

from bulletin.extensions import csrf, limiter
from bulletin.ops import health, logs, metrics

bp = Blueprint("ops", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    """The process answers (no database query)."""
    return _no_store(jsonify(status="ok"))


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    """Ready to serve: database, schema, a live worker, the outbox moving. 503 says which not."""
    checks = health.readiness(current_app.extensions["migrate"].directory)
    failed = [c.name for c in checks if not c.ok]
    body = {
        "status": "not ready" if failed else "ready",
        "failed": failed,
        "checks": {c.name: {"ok": c.ok, **c.detail} for c in checks},
    }
    return _no_store(jsonify(body)), 503 if failed else 200


@bp.get("/metrics")
def prometheus() -> Response:
    """Prometheus text, only with `Authorization: Bearer METRICS_TOKEN` (404 when unset)."""
    expected = current_app.config.get("METRICS_TOKEN")
    if not expected:
        abort(404)
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        given.strip().encode(), expected.encode()
    ):
        response = Response("A valid metrics token is needed.\n", 401, mimetype="text/plain")
        response.headers["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    body = metrics.exposition(current_app.config.get("PROMETHEUS_MULTIPROC_DIR"))
    return _no_store(Response(body, mimetype="text/plain; version=0.0.4; charset=utf-8"))


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


def _start_timer() -> None:
    g.ops_started = time.perf_counter()


def _count_request(response: Response) -> Response:
    started = g.pop("ops_started", None)
    if started is not None:
        metrics.observe(
            request.endpoint, request.method, response.status_code, time.perf_counter() - started
        )
    return response


def register(app: Flask) -> None:
    """Add the three operator pages (no sign-in, no CSRF, no rate limit), request ids,
    request metrics and, with LOG_FORMAT=json, JSON log lines."""
    for view in (healthz, readyz, prometheus):
        limiter.exempt(view)
    csrf.exempt(bp)
    app.register_blueprint(bp)
    # First of all before_request functions, so every log line of the request has its id.
    app.before_request_funcs.setdefault(None, [])[:0] = [logs.start_request, _start_timer]
    app.after_request(_count_request)
    app.after_request(logs.tag_response)
    if app.config.get("LOG_FORMAT") == "json":
        logs.use_json_format()
