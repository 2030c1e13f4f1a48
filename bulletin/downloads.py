"""Downloads of personal or admin data: an attachment no browser or proxy may keep."""

from __future__ import annotations

from collections.abc import Iterable

from flask import Response


def private_download(body: str | Iterable[str], filename: str, mimetype: str) -> Response:
    """`body` (a string, or an iterable for a streamed file) as `filename`, never cached."""
    return Response(body, mimetype=mimetype, headers={
        "Content-Disposition": f'attachment; filename="{filename}"',
        "Cache-Control": "no-store",
    })
