"""The ``classify-bounce`` command: classify message files without a database or app."""

from __future__ import annotations

import json
from pathlib import Path

import click

from bulletin.bounces.classify import classify_message


@click.command("classify-bounce")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True))
def classify_bounce(files: tuple[str, ...]) -> None:
    """Print one JSON line per FILE: its kind, status and failed recipient."""
    for name in files:
        result = classify_message(_read(name))
        record = {"file": name, "kind": result.kind, "status": result.status,
                  "recipient": result.recipient}
        click.echo(json.dumps(record, ensure_ascii=False))


def _read(name: str) -> bytes:
    try:
        return Path(name).read_bytes()
    except OSError as error:  # a directory or unreadable file classifies as "not-bounce"
        click.echo(f"classify-bounce: cannot read {name}: {error.strerror}", err=True)
        return b""
