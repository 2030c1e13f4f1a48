"""Reading an uploaded CSV safely: bounded lines, per-line decoding, column mapping."""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterator
from itertools import chain
from typing import BinaryIO

from bulletin.core.fields import SUBSCRIBER
from bulletin.privacy.messages import _

#: No physical line may be longer: a file of one endless line must not fill memory.
MAX_LINE_BYTES = 64 * 1024
#: The subscriber's fields (core/fields.py), then the consent evidence a file may carry.
FIELDS = (*SUBSCRIBER, "consent_date", "consent_source")
#: Header spellings recognised for each field (compared lower-case, letters and digits only).
SYNONYMS = {
    "email": ("email", "emailaddress", "e-mail", "mail", "emailaddr", "cyfeiriadebost", "ebost"),
    "name": ("name", "fullname", "subscribername", "enw"),
    "topics": ("topics", "topic", "interests", "lists", "pynciau"),
    "region": ("region", "area", "rhanbarth"),
    "language": ("language", "lang", "preferredlanguage", "iaith"),
    "consent_date": (
        "consentdate",
        "consentedat",
        "consentedon",
        "optindate",
        "optedinat",
        "subscribedat",
        "subscribedon",
        "dateofconsent",
        "consenttimestamp",
    ),
    "consent_source": ("consentsource", "source", "optinsource", "signupsource", "howconsented"),
}
DELIMITERS = (",", ";", "\t", "|")

Problem = Callable[[int, str], None]


class MappingError(ValueError):
    """The file's columns cannot be matched to ours (no email column, unknown header)."""


def _key(header: str) -> str:
    return re.sub(r"[^a-z0-9]", "", header.strip().lower())


def read_lines(stream: BinaryIO, encoding: str, problem: Problem) -> Iterator[str]:
    """Decoded physical lines; a line too long or not decodable is reported and blanked."""
    number = 0
    codec = "utf-8" if encoding.lower().replace("_", "-") == "utf-8-sig" else encoding
    while raw := stream.readline(MAX_LINE_BYTES):
        number += 1
        if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        if len(raw) >= MAX_LINE_BYTES and not raw.endswith(b"\n"):
            while (more := stream.readline(MAX_LINE_BYTES)) and not more.endswith(b"\n"):
                pass
            problem(number, _("The line is longer than 64 KB."))
            yield "\n"  # keep the reader's line numbers equal to the file's
            continue
        try:
            yield raw.decode(codec)
        except UnicodeDecodeError:
            problem(number, _("The line is not valid %(encoding)s text.", encoding=encoding))
            yield "\n"


def open_reader(lines: Iterator[str]) -> tuple[csv.reader, list[str]]:
    """A CSV reader over the lines (delimiter guessed from the header) and the header row."""
    first = next(lines, "")
    while first.strip() == "" and first:
        first = next(lines, "")
    if not first:
        raise MappingError(_("The file is empty."))
    delimiter = max(DELIMITERS, key=first.count)
    reader = csv.reader(chain([first], lines), delimiter=delimiter, strict=False)
    header = next(reader)
    return reader, header


def map_columns(header: list[str], explicit: dict[str, str]) -> dict[str, int]:
    """Field name -> column index, from --map options first, then recognised headers."""
    unknown = set(explicit) - set(FIELDS)
    if unknown:
        raise MappingError(
            _("Unknown fields in the mapping: %(fields)s.", fields=", ".join(sorted(unknown)))
        )
    keys = [_key(h) for h in header]
    columns: dict[str, int] = {}
    for field, wanted in explicit.items():
        matches = [i for i, h in enumerate(header) if h.strip() == wanted.strip()]
        matches = matches or [i for i, k in enumerate(keys) if k == _key(wanted)]
        if not matches:
            raise MappingError(
                _("No column is called %(header)s (for %(field)s).", header=wanted, field=field)
            )
        columns[field] = matches[0]
    taken = set(columns.values())
    for field in FIELDS:
        if field in columns:
            continue
        for index, key in enumerate(keys):
            if index not in taken and key in SYNONYMS[field]:
                columns[field] = index
                taken.add(index)
                break
    if "email" not in columns:
        raise MappingError(
            _(
                "The file has no email column: call it email, or say which "
                "column holds the addresses."
            )
        )
    return columns


def parse_mapping(pairs: list[str]) -> dict[str, str]:
    """`field=Header` strings (from --map) as a dict."""
    mapping = {}
    for pair in pairs:
        field, sep, header = pair.partition("=")
        if not sep or not field.strip() or not header.strip():
            raise MappingError(_("Write the mapping as field=Header, not %(pair)s.", pair=pair))
        mapping[field.strip().replace("-", "_")] = header
    return mapping
