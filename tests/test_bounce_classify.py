"""Tests of the bounce / complaint / auto-reply classifier (bulletin.bounces)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from bulletin.bounces.classify import KINDS, Classification, classify_message
from bulletin.bounces.commands import classify_bounce

FIXTURES = Path(__file__).parent / "fixtures" / "bounces"
CORPUS = Path(__file__).resolve().parents[2] / "shared" / "bounces"

# Floors for the labelled part of the shared corpus, set a little below what the classifier
# reaches (kind 97.0%, recipient 97.8%, hard precision 98.0%, hard recall 92.3%; before the
# issue 11 rework 96.4%, 97.8%, 97.9%, 90.4%, with floors 0.96/0.975/0.975/0.90).
# RFC 3463 codes decide first (verdict.py); an undecided code leaves it to the reason in the
# words (patterns.py, sisimai's reason families). Reports with no status code or SMTP reply
# are hard only when they follow a known MTA template and the recipient's own block names
# an address-gone reason (ndr.py, verdict.py).
# Labelled "hard" but soft here, by judgement: a 5.7.1 "Recipient address rejected: Access
# denied" (policy wording, BNC-05); an Exim "account or domain may not exist, they may be
# blacklisted" (vague); a 553 about the *sender's* domain after end of data; an OpenSMTPD
# delay notice (still queued); a malformed DNS reply (5.4.4, may pass); InterScan's "please
# check if address is correct" and a Verizon MMS notice with a message-level reason only (no
# per-recipient reason, BNC-06). Labelled "soft" but hard here: two 5.0.0 DSNs whose words
# say the address is gone ("No such user", "The email account ... does not exist").
FLOORS = {"kind": 0.965, "recipient": 0.975, "hard_precision": 0.975, "hard_recall": 0.915}


def _table(path: Path) -> list[list[str]]:
    """Read a headed, tab-separated file without any quoting rules."""
    lines = path.read_text(encoding="utf-8").splitlines()[1:]
    return [line.split("\t") for line in lines if line.strip()]


def _classify_file(path: Path) -> Classification:
    return classify_message(path.read_bytes())


# --- 1. the fixture table --------------------------------------------------------------------

EXPECTED = _table(FIXTURES / "expected.tsv")


@pytest.mark.parametrize(
    ("name", "kind", "status", "recipient"), EXPECTED, ids=[row[0] for row in EXPECTED]
)
def test_fixture_table(name: str, kind: str, status: str, recipient: str) -> None:
    """Every fixture is classified exactly as expected.tsv says."""
    result = _classify_file(FIXTURES / name)
    assert (result.kind, result.status or "", result.recipient or "") == (kind, status, recipient)


def test_fixture_set_is_complete() -> None:
    """The fixture directory holds 40+ messages, all listed, and the corpus licence."""
    files = sorted(p.name for p in FIXTURES.glob("*.eml"))
    assert len(files) >= 40
    assert files == sorted(row[0] for row in EXPECTED)
    assert "BSD 2-CLAUSE" in (FIXTURES / "LICENSE").read_text(encoding="utf-8").upper()


def test_own_fixture_details() -> None:
    """Tokens, original identifiers, feedback type and sender fault are extracted."""
    postmark = _classify_file(FIXTURES / "own-postmark-01.eml")
    assert postmark.envelope_tokens == (("bounces", "c3ViLTQyLmlzc3VlLTc"),)
    assert postmark.original_message_id == "<issue-7.sub-42@news.bulletin.example>"
    assert postmark.original_list_id == "weekly.news.bulletin.example"
    assert "User unknown" in (postmark.diagnostic or "")
    complaint = _classify_file(FIXTURES / "own-arf-verp-01.eml")
    assert complaint.feedback_type == "abuse"
    assert complaint.envelope_tokens == (("bounces", "c3ViLTc3Lmlzc3VlLTg"),)
    assert complaint.original_list_id == "weekly.news.bulletin.example"
    exim = _classify_file(FIXTURES / "own-exim-verp-01.eml")
    assert exim.original_message_id == "<issue-12.sub-99@news.bulletin.example>"
    assert exim.envelope_tokens == (("bounces", "dG9rZW4tOTk"),)
    blocked = _classify_file(FIXTURES / "lhost-exchange2007-04.eml")
    assert (blocked.kind, blocked.is_sender_fault) == ("soft", True)
    assert _classify_file(FIXTURES / "arf-18.eml").feedback_type == "auth-failure"


# --- 2 and 3. the shared corpus --------------------------------------------------------------


@dataclass
class Scores:
    """Agreement of the classifier with the corpus labels."""

    total: int = 0
    kind: int = 0
    recipient: int = 0
    true_hard: int = 0
    false_hard: int = 0
    missed_hard: int = 0

    def add(self, label: list[str], result: Classification) -> None:
        """Count one labelled message."""
        _, kind, _, _, recipient = label
        self.total += 1
        self.kind += result.kind == kind
        got = (result.recipient or "").lower()
        self.recipient += got == recipient.lower() if recipient else result.recipient is None
        hard, said_hard = kind == "hard", result.kind == "hard"
        self.true_hard += hard and said_hard
        self.false_hard += said_hard and not hard
        self.missed_hard += hard and not said_hard

    def shares(self) -> dict[str, float]:
        """Return the four figures the floors apply to."""
        return {
            "kind": self.kind / self.total,
            "recipient": self.recipient / self.total,
            "hard_precision": self.true_hard / max(1, self.true_hard + self.false_hard),
            "hard_recall": self.true_hard / max(1, self.true_hard + self.missed_hard),
        }


@pytest.fixture(scope="module")
def corpus() -> Path:
    """The shared sisimai corpus beside the repository, or a skip."""
    if not (CORPUS / "labels.tsv").is_file() or not (CORPUS / "eml").is_dir():
        pytest.skip(f"shared bounce corpus not found at {CORPUS} (expected ../shared/bounces)")
    return CORPUS


def test_corpus_scores(corpus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Kind, recipient and hard precision/recall on the labelled corpus meet the floors."""
    scores = Scores()
    for label in _table(corpus / "labels.tsv"):
        scores.add(label, _classify_file(corpus / "eml" / label[0]))
    shares = scores.shares()
    with capsys.disabled():
        figures = ", ".join(f"{name} {value:.1%}" for name, value in shares.items())
        print(f"\nbounce corpus ({scores.total} labelled): {figures}")
    for name, floor in FLOORS.items():
        assert shares[name] >= floor, f"{name} {shares[name]:.3f} below floor {floor}"


FOLDS = 5
# Floors for every single fold (about 70 messages each, so one message moves a figure by
# 1.5 points; hard precision by several). The rules have no learned part, so no fold is
# used for tuning: the per-fold figures show how evenly they hold across subsets.
FOLD_FLOORS = {"kind": 0.93, "recipient": 0.95, "hard_precision": 0.93, "hard_recall": 0.85}


def fold_of(name: str) -> int:
    """Deterministic fold of a corpus file: its name's SHA-256 modulo FOLDS."""
    return int(hashlib.sha256(name.encode()).hexdigest(), 16) % FOLDS


def test_corpus_scores_per_fold(corpus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Each of 5 deterministic folds of the labelled corpus meets the per-fold floors."""
    folds = [Scores() for _ in range(FOLDS)]
    whole = Scores()
    for label in _table(corpus / "labels.tsv"):
        result = _classify_file(corpus / "eml" / label[0])
        folds[fold_of(label[0])].add(label, result)
        whole.add(label, result)
    rows = [(f"fold {index}", scores) for index, scores in enumerate(folds)] + [("all", whole)]
    with capsys.disabled():
        print(f"\n{'':8} {'n':>4} " + " ".join(f"{name:>15}" for name in FLOORS))
        for title, scores in rows:
            shares = scores.shares()
            print(f"{title:8} {scores.total:4} " + " ".join(f"{shares[n]:15.1%}" for n in FLOORS))
        lowest = {n: min(s.shares()[n] for s in folds) for n in FLOORS}
        print("lowest fold: " + ", ".join(f"{n} {v:.1%}" for n, v in lowest.items()))
    for index, scores in enumerate(folds):
        for name, floor in FOLD_FLOORS.items():
            assert scores.shares()[name] >= floor, f"fold {index}: {name} below {floor}"


def test_corpus_never_raises(corpus: Path) -> None:
    """Every corpus message, labelled or not, yields a well-formed classification."""
    files = sorted((corpus / "eml").glob("*.eml"))
    assert len(files) >= 600
    for path in files:
        result = _classify_file(path)
        assert result.kind in KINDS, path.name
        if result.kind == "hard":  # a permanent code, given or inferred from a known template
            assert (result.status or "").startswith("5"), path.name
        assert result.diagnostic is None or len(result.diagnostic) <= 500


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\x00\xff\xfe" * 50,
        b"Subject: =?utf-8?q?broken\r\n\r\n",
        b"Content-Type: multipart/report; boundary=x\n\n--x\nContent-Type: message/delivery-status",
        b"From: MAILER-DAEMON@example.org\nContent-Type: text/plain; charset=x-no-such-charset\n\n"
        b"<a@example.org>: 550 5.1.1 user unknown\n",
        b"Content-Type: text/plain; charset=ISO-2022-JP\n\n\x1b$B%a!<%k\x1b(B\xff",
        b"Content-Type: multipart/mixed; boundary=b\n\n"
        + b"--b\nContent-Type: multipart/mixed; boundary=b\n\n" * 300,
    ],
)
def test_garbage_never_raises(raw: bytes) -> None:
    """Malformed input falls back to a classification instead of raising."""
    assert classify_message(raw).kind in KINDS


# --- 3b. reports without a status code (BNC-06 and its known-template exception) ---------

EXIM = (
    "This message was created automatically by mail delivery software.\n\nA message that "
    "you sent could not be delivered to one or more of its\nrecipients. This is a permanent "
    "error. The following address(es) failed:\n\n  gone@example.org\n    {reason}\n"
)
EXCHANGE = (
    "Your message\n\n  To:      gone@example.org\n  Subject: Issue 7\n\ndid not reach "
    "the following recipient(s):\n\ngone@example.org on Thu, 29 Apr 2010 00:00:00 -0000\n"
    "    The recipient name is not recognized\n    {code}\n"
)
OPENSMTPD = (
    "    Hi!\n\n    This is the MAILER-DAEMON, please DO NOT REPLY to this e-mail.\n\n"
    "    An error has occurred while attempting to deliver a message for\n    the "
    "following list of recipients:\n\ngone@example.org: {reason}\n\n{extra}"
)


def _notice(body: str, subject: str = "Mail delivery failed") -> bytes:
    head = f"From: Mail Delivery System <MAILER-DAEMON@mx.example.net>\nSubject: {subject}\n"
    return (head + "Content-Type: text/plain; charset=us-ascii\n\n" + body).encode()


@pytest.mark.parametrize(
    ("body", "kind", "status"),
    [
        ("Your message to gone@example.org could not be delivered.\n", "soft", None),
        (EXIM.format(reason="Unrouteable address"), "hard", "5.1.2"),
        (
            EXIM.format(reason="The account or domain may not exist, they may be blacklisted"),
            "soft",
            None,
        ),
        (EXIM.format(reason="Mailbox is full"), "soft", None),
        (
            EXCHANGE.format(code="MSEXCH:IMS:EX:SITE:SRV 0 (000C05A6) Unknown Recipient"),
            "hard",
            "5.1.1",
        ),
        (EXCHANGE.format(code="MSEXCH:IMC:EX:SITE:SRV"), "soft", None),
        (OPENSMTPD.format(reason="Domain does not exist", extra=""), "hard", "5.1.2"),
        (
            OPENSMTPD.format(
                reason="No such user",
                extra="    Please note that this is only a temporary failure report.\n",
            ),
            "soft",
            None,
        ),
    ],
    ids=[
        "bare-undeliverable",
        "exim-unroutable",
        "exim-vague",
        "exim-full",
        "exchange-coded",
        "exchange-uncoded",
        "opensmtpd-domain",
        "opensmtpd-delay",
    ],
)
def test_uncoded_reports(body: str, kind: str, status: str | None) -> None:
    """Only a known MTA template naming an address-gone reason for the recipient is hard."""
    result = classify_message(_notice(body, "Undeliverable: Issue 7"))
    assert (result.kind, result.status, result.recipient) == (kind, status, "gone@example.org")


@pytest.mark.parametrize(
    ("diagnostic", "kind", "sender_fault"),
    [
        ("553 Invalid recipient gone@example.org (Mode: normal)", "hard", False),
        ("554 5.7.1 <gone@example.org>: Recipient address rejected: Access denied", "soft", True),
        ("550 5.7.1 Unknown user; blocked by spam policy", "soft", True),
    ],
)
def test_policy_code_with_recipient_reason(diagnostic: str, kind: str, sender_fault: bool) -> None:
    """A 5.7.x code is policy (BNC-05) unless the diagnostic only says the address is gone."""
    result = classify_message(_dsn("5.7.1", diagnostic))
    assert (result.kind, result.is_sender_fault) == (kind, sender_fault)


def _dsn(status: str, diagnostic: str, report: str = "Failed.\n") -> bytes:
    return (
        "Content-Type: multipart/report; report-type=delivery-status; boundary=b\n"
        "From: MAILER-DAEMON@mx.example.net\n\n--b\nContent-Type: text/plain\n\n"
        f"{report}--b\nContent-Type: message/delivery-status\n\n"
        "Reporting-MTA: dns; mx.example.net\n\nFinal-Recipient: rfc822; gone@example.org\n"
        f"Action: failed\nStatus: {status}\nDiagnostic-Code: smtp; {diagnostic}\n\n--b--\n"
    ).encode()


@pytest.mark.parametrize(
    ("status", "diagnostic", "kind", "sender_fault"),
    [
        # RFC 3463: 5.1.1 says the address is gone; only a named block overrides it, not a
        # word of the wide sender-fault family ("refused").
        ("5.1.1", "550 5.1.1 <gone@example.org>: delivery refused, no such user", "hard", False),
        ("5.1.1", "550 5.1.1 <gone@example.org>: blocked using zen.spamhaus.org", "soft", True),
        ("5.1.1", "552 5.1.1 <gone@example.org>: mailbox full", "soft", False),
        ("5.1.1", "550 5.1.1 <gone@example.org>: User reject", "soft", False),  # own filter
        ("5.1.1", "550 5.1.1 Refused due to recipient preferences", "soft", False),
        # x.2.2 (full) and x.6.x (content) leave the address alive, whatever the words say.
        (
            "5.2.2",
            "550 5.2.2 <gone@example.org>: user unknown (in reply to RCPT TO command)",
            "soft",
            False,
        ),
        (
            "5.6.0",
            "550 5.6.0 <gone@example.org>: user unknown (in reply to RCPT TO command)",
            "soft",
            False,
        ),
        # Undecided codes: the reason in the words decides.
        (
            "5.0.0",
            "550 5.0.0 <gone@example.org>: Recipient address rejected: User unknown in "
            "local recipient table (in reply to RCPT TO command)",
            "hard",
            False,
        ),
        (
            "4.1.1",
            "450 4.1.1 <gone@example.org>: Recipient address rejected: User unknown",
            "soft",
            False,
        ),
        # Exchange Online's directory-based edge blocking (Microsoft's NDR reference, 5.4.1).
        (
            "5.4.1",
            "550 5.4.1 <gone@example.org>: Recipient address rejected: Access denied "
            "[AM0PR01MB1234.eurprd01.prod.protection.outlook.com]",
            "hard",
            False,
        ),
        (
            "5.4.1",
            "550 5.4.1 <gone@example.org>: Recipient address rejected: Access denied",
            "soft",
            True,
        ),
        (
            "5.7.1",
            "550 5.7.1 <gone@example.org>: Recipient address rejected: Access denied "
            "[AM0PR01MB1234.eurprd01.prod.protection.outlook.com]",
            "soft",
            True,
        ),
    ],
)
def test_status_code_first(status: str, diagnostic: str, kind: str, sender_fault: bool) -> None:
    """RFC 3463 classes and subjects decide first; the diagnostic's reason only where undecided."""
    result = classify_message(_dsn(status, diagnostic))
    assert (result.kind, result.is_sender_fault) == (kind, sender_fault)


PIPELINED = (
    "   ----- Transcript of session follows -----\n... while talking to mx.example.org.:\n"
    ">>> DATA\n<<< 550 5.5.0 <gone@example.org>: Invalid recipient\n{after}"
)


@pytest.mark.parametrize(
    ("after", "kind"),
    [
        ("<<< 554 5.5.1 Error: no valid recipients\n", "hard"),
        ("554 5.0.0 Service unavailable\n", "soft"),
    ],
    ids=["pipelined-rcpt", "after-data"],
)
def test_pipelined_recipient_rejection(after: str, kind: str) -> None:
    """A refusal shown after ">>> DATA" answered RCPT TO when DATA found no valid recipients.

    With PIPELINING (RFC 2920) RCPT TO and DATA are sent together; "user unknown" that truly
    answers DATA is a content filter (sisimai's Filtered) and stays soft.
    """
    result = classify_message(
        _dsn(
            "5.5.0",
            "550 5.5.0 <gone@example.org>: Invalid recipient",
            PIPELINED.format(after=after),
        )
    )
    assert result.kind == kind


# --- 4. the command --------------------------------------------------------------------------


def test_classify_bounce_command() -> None:
    """classify-bounce prints one JSON object per file, in order."""
    names = ["lhost-postfix-14.eml", "arf-01.eml", "rfc3834-01.eml"]
    paths = [str(FIXTURES / name) for name in names]
    outcome = CliRunner().invoke(classify_bounce, paths)
    assert outcome.exit_code == 0, outcome.output
    lines = [json.loads(line) for line in outcome.output.splitlines()]
    assert [line["file"] for line in lines] == paths
    assert [line["kind"] for line in lines] == ["hard", "complaint", "auto-reply"]
    assert lines[0] == {
        "file": paths[0],
        "kind": "hard",
        "status": "5.1.1",
        "recipient": "kijitora@2jo.example.jp",
    }
    assert lines[1]["status"] is None


def test_classify_bounce_command_needs_files() -> None:
    """classify-bounce refuses to run without a file or with a missing one."""
    assert CliRunner().invoke(classify_bounce, []).exit_code != 0
    assert CliRunner().invoke(classify_bounce, ["/no/such/file.eml"]).exit_code != 0
