"""No input can stall the bounce classifier: crafted messages of 100 KB to 1 MB, each classified
in well under a second (issue 11, part A).

Each family targets one way a regular expression or parser step used to go super-linear:
long blank runs after a word (where two blank quantifiers could split the run in every way),
unclosed HTML comments and tags, huge or endlessly continued fields, deep MIME nesting, many
parts, very long lines. Before the fix the worst of these took from tens of seconds to several
minutes for a single message. The bound is a check on pathological input, not a benchmark: a
linear classifier needs a small fraction of it even on a loaded machine.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bulletin.bounces.classify import KINDS, MAX_INPUT_BYTES, bounded_input, classify_message
from bulletin.bounces.classify.mime import MAX_CONTAINERS, html_to_text, parse

LIMIT_SECONDS = 1.0
SIZES = {"100k": 100 * 1024, "1m": 1024 * 1024}


def _fill(unit: bytes | str, size: int) -> bytes:
    """Repeat ``unit`` to about ``size`` bytes."""
    data = unit.encode() if isinstance(unit, str) else unit
    return data * max(1, size // len(data))


def _plain(body: bytes, subject: str = "Mail delivery failed", extra: bytes = b"") -> bytes:
    head = (
        b"From: Mail Delivery System <MAILER-DAEMON@mx.example.net>\nSubject: "
        + subject.encode()
        + b"\n"
        + extra
        + b"Content-Type: text/plain; charset=us-ascii\n\n"
    )
    return head + body


def _html(body: bytes) -> bytes:
    return (
        b"From: MAILER-DAEMON@mx.example.net\nSubject: Undeliverable\n"
        b"Content-Type: text/html; charset=us-ascii\n\n" + body
    )


def _dsn(fields: bytes, content_type: bytes = b"", recipient: bytes = b"gone@example.org") -> bytes:
    return (
        b"From: MAILER-DAEMON@mx.example.net\nSubject: Undelivered Mail\n"
        b"Content-Type: multipart/report; report-type=delivery-status; boundary=b"
        + content_type
        + b"\n\n--b\nContent-Type: text/plain\n\nFailed.\n\n"
        b"--b\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.net\n\n"
        b"Final-Recipient: rfc822; "
        + recipient
        + b"\nAction: failed\nStatus: 5.1.1\n"
        + fields
        + b"\n\n--b--\n"
    )


def _nested(size: int) -> bytes:
    level = b"Content-Type: multipart/mixed; boundary=b%d\n\n--b%d\n"
    depth = size // len(level % (99999, 99999))
    parts = [level % (i, i) for i in range(depth)]
    return (
        b"From: MAILER-DAEMON@mx.example.net\nSubject: Undeliverable\n"
        + b"".join(parts)
        + b"Content-Type: text/plain\n\n<gone@example.org>: 550 5.1.1 user unknown\n"
    )


def _many_parts(size: int) -> bytes:
    part = b"--b\nContent-Type: text/plain\n\n<gone@example.org>: 550 user unknown\n"
    return (
        b"From: MAILER-DAEMON@mx.example.net\nSubject: Undeliverable\n"
        b"Content-Type: multipart/mixed; boundary=b\n\n" + _fill(part, size) + b"--b--\n"
    )


FAMILIES: dict[str, Callable[[int], bytes]] = {
    # long blank runs after a word, a code or a separator
    "blanks-after-to": lambda n: _plain(b"Your message to" + _fill(b" ", n) + b"x\n"),
    "blanks-after-said": lambda n: _plain(b"gone@example.org: host said:" + _fill(b" ", n) + b"x"),
    "tabs-after-recipient": lambda n: _plain(b"recipient" + _fill(b" \t", n) + b"x"),
    "blanks-after-colon": lambda n: _plain(b"x:" + _fill(b" ", n) + b"y"),
    "blanks-after-code": lambda n: _plain(b"<gone@example.org>: 550" + _fill(b" ", n) + b"\n"),
    "blanks-after-dashes": lambda n: _plain(b"gone@example.org: 550\n--" + _fill(b" ", n) + b"x"),
    "blank-lines-with-words": lambda n: _plain(_fill(b"   to   \n", n)),
    # HTML that never closes
    "html-open-comments": lambda n: _html(_fill(b"<!--", n)),
    "html-open-br": lambda n: _html(_fill(b"<br", n)),
    "html-br-then-blanks": lambda n: _html(b"<br" + _fill(b" ", n)),
    "html-open-angles": lambda n: _html(_fill(b"< ", n)),
    # huge or endless status fields
    "diagnostic-repeated-phrase": lambda n: _dsn(
        b"Diagnostic-Code: smtp; 550 " + _fill(b"virtual user ", n)
    ),
    "diagnostic-long-words": lambda n: _dsn(
        b"Diagnostic-Code: smtp; 550 " + _fill(b"user " + b"x" * 5000 + b" ", n)
    ),
    "diagnostic-one-word": lambda n: _dsn(b"Diagnostic-Code: smtp; 550 " + _fill(b"a", n)),
    "diagnostic-continued": lambda n: _dsn(
        b"Diagnostic-Code: smtp; 550 user unknown\n" + _fill(b" x\n", n)
    ),
    "dsn-many-blocks": lambda n: _dsn(
        _fill(b"Final-Recipient: rfc822; a@example.org\nAction: failed\nStatus: 5.1.1\n\n", n)
    ),
    "dsn-verp-tokens": lambda n: _dsn(b"Original-Envelope-Id: " + _fill(b"bounces+a/", n)),
    "dsn-long-recipient": lambda n: _dsn(b"", recipient=_fill(b"a", n) + b"@example.org"),
    # headers
    "header-continued": lambda n: _plain(b"x\n", extra=b"X-Long: a\n" + _fill(b" a\n", n)),
    "subject-continued": lambda n: _plain(b"x\n", subject="Undelivered" + "\n x" * (n // 3)),
    "header-cr-continued": lambda n: _plain(b"x\n", extra=b"X-Long: a" + _fill(b"\r x", n) + b"\n"),
    "many-headers": lambda n: _plain(b"x\n", extra=_fill(b"X-A: b\n", n)),
    "subject-encoded-words": lambda n: _plain(b"x\n", subject=_fill("=?a?q?", n).decode()),
    "charset-parameters": lambda n: _plain(b"x\n").replace(
        b"charset=us-ascii", b"charset=us-ascii" + _fill(b'; a="b', n)
    ),
    "boundary-parameters": lambda n: _dsn(b"", content_type=_fill(b';a="b', n)),
    "verp-tokens-in-to": lambda n: _plain(b"x\n", extra=b"To: " + _fill(b"bounces+a/", n) + b"\n"),
    # structure
    "deep-multipart-nesting": _nested,
    "deep-rfc822-nesting": lambda n: (
        b"From: MAILER-DAEMON@mx.example.net\n"
        + _fill(b"Content-Type: message/rfc822\n\n", n)
        + b"x"
    ),
    "many-parts": _many_parts,
    "base64-part": lambda n: _plain(
        base64.encodebytes(_fill(b"user unknown to: ", n * 3 // 4)),
        extra=b"Content-Transfer-Encoding: base64\n",
    ),
    # long lines and odd text
    "long-line": lambda n: _plain(_fill(b"a", n)),
    "long-line-of-phrases": lambda n: _plain(_fill(b"user unknown ", n)),
    "long-domain": lambda n: _plain(b"gone@" + _fill(b"a.", n) + b"1"),
    "many-local-parts": lambda n: _plain(_fill(b"#a@", n)),
    "quoted-lines": lambda n: _plain(_fill(b"> ", n)),
    "dash-run": lambda n: _plain(b"--- message log follows: " + _fill(b"-", n)),
    "ses-unterminated-strings": lambda n: _plain(
        b'{"notificationType":"Bounce",' + _fill(b'"diagnosticCode":"a', n)
    ),
}


def _timed(raw: bytes) -> tuple[float, str]:
    started = time.perf_counter()
    result = classify_message(raw)
    return time.perf_counter() - started, result.kind


@pytest.mark.parametrize("size", SIZES.values(), ids=SIZES.keys())
@pytest.mark.parametrize("family", FAMILIES.keys())
def test_pathological_message_is_classified_quickly(family: str, size: int) -> None:
    """Each crafted message of the family, at 100 KB and 1 MB, is classified in under 1 s."""
    raw = FAMILIES[family](size)
    assert len(raw) >= size * 0.9
    elapsed, kind = _timed(raw)
    assert kind in KINDS
    assert elapsed < LIMIT_SECONDS, f"{family} ({len(raw)} bytes) took {elapsed:.2f} s"


# Fragments that each stress some pattern; hypothesis strings them together and repeats them.
FRAGMENTS = [
    " ",
    "\t",
    "\n",
    "\n ",
    "\r",
    "to",
    "said:",
    "550",
    "5.1.1",
    "user",
    "unknown",
    ":",
    "<",
    ">",
    "<!--",
    "<br",
    "-",
    "--",
    "@",
    "a.",
    "#a",
    "bounces+",
    "=?a?q?",
    ";",
    '"',
    "> ",
    "Final-Recipient: rfc822; ",
    "Diagnostic-Code: smtp; ",
    "recipient",
    "x" * 40,
]
WRAPPERS = [_plain, _html, lambda body: _dsn(b"Diagnostic-Code: smtp; " + body)]


@settings(
    max_examples=40,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    pieces=st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=12),
    wrapper=st.sampled_from(WRAPPERS),
)
def test_generated_pathological_mixtures_are_classified_quickly(
    pieces: list[str], wrapper: Callable[[bytes], bytes]
) -> None:
    """Any mixture of stressing fragments, repeated to about 200 KB, is classified in under 1 s."""
    raw = wrapper(_fill("".join(pieces), 200 * 1024))
    elapsed, kind = _timed(raw)
    assert kind in KINDS
    assert elapsed < LIMIT_SECONDS, f"{pieces!r} took {elapsed:.2f} s"


def test_input_cap_keeps_the_head_of_the_message() -> None:
    """Only the first MAX_INPUT_BYTES (and a bounded number of lines) are parsed."""
    raw = b"a" * (MAX_INPUT_BYTES * 3)
    assert bounded_input(raw) == raw[:MAX_INPUT_BYTES]
    lines = b"x\n" * 100_000
    kept = bounded_input(lines)
    assert 1000 < kept.count(b"\n") < 100_000 and lines.startswith(kept)
    assert bounded_input(b"x\r" * 100_000).count(b"\r") < 100_000  # CR-only breaks count too


def test_huge_returned_original_keeps_the_verdict() -> None:
    """A real report with a 5 MB returned original is still read in full where it matters."""
    original = (
        b"--b\nContent-Type: message/rfc822\n\nMessage-ID: <issue-1@news.example>\n"
        b"Subject: Issue 1\n\n" + b"y" * 75 + b"\n"
    ) + (b"y" * 75 + b"\n") * 70_000
    raw = _dsn(b"Diagnostic-Code: smtp; 550 5.1.1 <gone@example.org>: user unknown").replace(
        b"--b--\n", original + b"--b--\n"
    )
    assert len(raw) > 5 * MAX_INPUT_BYTES
    elapsed, _ = _timed(raw)
    result = classify_message(raw)
    assert (result.kind, result.status, result.recipient) == ("hard", "5.1.1", "gone@example.org")
    assert result.original_message_id == "<issue-1@news.example>"
    assert elapsed < LIMIT_SECONDS


def test_nesting_beyond_the_container_budget_is_opaque_text() -> None:
    """Past MAX_CONTAINERS, a multipart part is read as text instead of being descended into."""
    message = parse(_nested(200 * 1024))
    assert message is not None
    depth, part = 0, message
    while part.is_multipart():
        depth, part = depth + 1, part.get_payload(0)
    assert depth == MAX_CONTAINERS


@pytest.mark.parametrize(
    ("markup", "text"),
    [
        ("a<!-- hidden -->b", "a b"),
        ("a<!-- never closed <p>b", "a"),
        ("a<br>b<br/ >c", "a\nb\nc"),
        ("a<br b", "a<br b"),
        ("x &amp; <b>y</b>", "x &  y "),
    ],
)
def test_html_to_text_reads_comments_and_tags_in_one_pass(markup: str, text: str) -> None:
    """Comments are dropped (an unclosed one runs to the end), tags become blanks or breaks."""
    assert html_to_text(markup) == text
