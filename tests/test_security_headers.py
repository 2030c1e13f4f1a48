"""Security headers on every route in app.url_map, error pages included; HSTS over https."""

from __future__ import annotations

import re

import pytest
from flask import abort

HEADERS = ("Content-Security-Policy", "X-Content-Type-Options", "Referrer-Policy")


def sample_path(rule) -> str:
    """A concrete URL for a rule: 1 for numbers, 'x' for text."""
    values = {}
    for name, converter in rule._converters.items():
        kind = type(converter).__name__
        if kind in ("IntegerConverter", "FloatConverter"):
            values[name] = 1
        elif kind == "AnyConverter":
            values[name] = sorted(converter.items)[0]
        elif kind == "UUIDConverter":
            values[name] = "00000000-0000-0000-0000-000000000000"
        else:
            values[name] = "x"
    return rule.build(values, append_unknown=False)[1]


def csp_directives(value: str) -> dict[str, list[str]]:
    directives = {}
    for part in value.split(";"):
        words = part.split()
        if words:
            directives[words[0]] = words[1:]
    return directives


def assert_secure(response, where: str) -> None:
    for header in HEADERS:
        assert response.headers.get(header), f"{header} missing on {where}"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    csp = csp_directives(response.headers["Content-Security-Policy"])
    scripts = csp.get("script-src", csp.get("default-src"))
    assert scripts and "'unsafe-inline'" not in scripts and "'unsafe-eval'" not in scripts, where
    assert csp.get("frame-ancestors") in (["'none'"], ["'self'"]), where
    assert csp.get("object-src") == ["'none'"] and csp.get("base-uri") == ["'none'"], where


def test_every_route_sends_the_security_headers(app, editor_client):
    anonymous = app.test_client()
    checked = 0
    for rule in app.url_map.iter_rules():
        path = sample_path(rule)
        methods = rule.methods - {"HEAD", "OPTIONS"}
        for client in (anonymous, editor_client):
            for method in sorted(methods):
                response = client.open(path, method=method)
                ok = response.status_code < 500 or (path, response.status_code) == ("/readyz", 503)
                assert ok, f"{method} {path}: {response.status_code}"  # not ready: no worker
                assert_secure(response, f"{method} {path} ({response.status_code})")
                checked += 1
    print(f"\nsecurity headers checked on {checked} responses")
    assert checked > 40


def test_error_pages_carry_the_headers_too(make_app):
    app = make_app()

    @app.get("/boom-test")
    def boom():
        raise RuntimeError("boom")

    @app.get("/teapot-test")
    def teapot():
        abort(418)

    app.config["PROPAGATE_EXCEPTIONS"] = False
    client = app.test_client()
    for path, status in (("/no-such-page", 404), ("/boom-test", 500), ("/teapot-test", 418)):
        response = client.get(path)
        assert response.status_code == status
        assert_secure(response, path)


@pytest.mark.parametrize("https", [True, False])
def test_hsts_only_over_https(client, https):
    base = "https://bulletin.example" if https else "http://bulletin.example"
    response = client.get("/subscribe", base_url=base)
    hsts = response.headers.get("Strict-Transport-Security")
    if https:
        assert hsts and re.search(r"max-age=(\d+)", hsts)
        assert int(re.search(r"max-age=(\d+)", hsts).group(1)) >= 31536000
    else:
        assert hsts is None


def test_hsts_behind_a_tls_proxy(make_app, app):
    # X-Forwarded-Proto counts only from a trusted proxy (TRUSTED_PROXIES, test_security_proxy).
    client = make_app(TRUSTED_PROXIES=1).test_client()
    response = client.get("/subscribe", headers={"X-Forwarded-Proto": "https"})
    assert "max-age" in response.headers["Strict-Transport-Security"]
