"""What every web page shares: error pages, security headers, private downloads, and the
helpers every template can use."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from flask import Flask, Response, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException


def register_error_pages(app: Flask, json_errors: dict[str, Callable]) -> None:
    """HTML error pages, except under a prefix in `json_errors` (the API answers in JSON)."""

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return render_template("errors/error.html", code=400, reason="csrf"), 400

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        for prefix, answer in json_errors.items():
            if request.path.startswith(prefix):  # no route of that door matched: answer as it does
                return answer(error)
        return render_template("errors/error.html", code=error.code, reason=None), error.code


def security_headers(response):
    """The same headers on every answer: CSP, no sniffing, no referrer, HSTS over https."""
    csp = (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "frame-src 'self'; frame-ancestors 'self'; form-action 'self'; base-uri 'none'; "
        "object-src 'none'"
    )
    response.headers.setdefault("Content-Security-Policy", csp)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
    if request.is_secure:  # behind a proxy, X-Forwarded-Proto counts when TRUSTED_PROXIES says
        response.headers.setdefault(
            "Strict-Transport-Security", "max-age=31536000; includeSubDomains"
        )
    return response


def private_download(body: str | Iterable[str], filename: str, mimetype: str) -> Response:
    """`body` (a string, or an iterable for a streamed file) as `filename`, never cached:
    downloads of personal or admin data that no browser or proxy may keep."""
    return Response(body, mimetype=mimetype, headers={
        "Content-Disposition": f'attachment; filename="{filename}"',
        "Cache-Control": "no-store",
    })
