"""CSV import: mapping, consent evidence, suppression, bad rows by line, dry run, 100k rows."""

from __future__ import annotations

import io
import json
import os
import time
import tracemalloc

import pytest
from sqlalchemy import func, select

from bulletin.core import subscribers as operations
from bulletin.core.suppressions import suppress
from bulletin.extensions import db
from bulletin.models import (
    ConsentEvent,
    OutboxMessage,
    Subscriber,
    SubscriberStatus,
    Topic,
    subscriber_topic,
)
from bulletin.privacy.commands import import_command
from bulletin.privacy.csvsource import MappingError
from bulletin.privacy.importer import ImportOptions, import_csv


def run_import(text: str | bytes, **options):
    data = text.encode() if isinstance(text, str) else text
    return import_csv(io.BytesIO(data), ImportOptions(**options))


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def by_email(email: str) -> Subscriber | None:
    db.session.expire_all()
    return db.session.scalar(select(Subscriber).filter_by(email=email))


def test_rows_with_consent_come_in_confirmed_with_an_import_event(app):
    report = run_import(
        "Email,Name,Topics,Region,Language,Consent date,Consent source\n"
        "Siân@Example.ORG,Siân,workshops; News,Gogledd Cymru,Cymraeg,01/04/2024,paper form\n"
    )
    assert (report.confirmed, report.pending, report.problem_count) == (1, 0, 0)
    reader = by_email("Siân@example.org")  # normalised like the sign-up form: domain lower-cased
    assert reader.status == SubscriberStatus.CONFIRMED
    assert (reader.language, reader.region, reader.name) == ("cy", "north-wales", "Siân")
    assert sorted(t.slug for t in reader.topics) == ["news", "workshops"]
    assert reader.confirmed_at.isoformat() == "2024-03-31T23:00:00+00:00"  # BST midnight
    [event] = db.session.scalars(select(ConsentEvent).filter_by(subject_uid=reader.uid)).all()
    assert event.kind == "import" and event.source == "import:paper form"
    assert json.loads(event.details)["consent_date"] == "2024-03-31T23:00:00+00:00"
    assert count(OutboxMessage) == 0


def test_rows_without_consent_are_pending_and_invited_only_on_request(app):
    csv_text = "email\nquiet@example.org\n"
    assert run_import(csv_text).pending == 1
    assert by_email("quiet@example.org").status == SubscriberStatus.PENDING
    assert count(OutboxMessage) == 0

    report = run_import("email\ninvited@example.org\n", invite=True)
    assert (report.pending, report.invited) == (1, 1)
    [mail] = db.session.scalars(select(OutboxMessage)).all()
    assert mail.kind == "confirm" and mail.subscriber_id == by_email("invited@example.org").id


def test_suppressed_erased_and_existing_addresses_are_never_changed(app, make_subscriber):
    make_subscriber("here@example.org", name="Original", status=SubscriberStatus.CONFIRMED)
    suppress("Gone@Example.org", "unsubscribed", source="test")
    erased = make_subscriber("erased@example.org")
    operations.erase(erased, source="test")
    db.session.commit()

    report = run_import(
        "email,name,consent date\n"
        "here@example.org,Changed,2024-01-01\n"
        "gone@example.org,,2024-01-01\n"
        "erased@example.org,,2024-01-01\n"
        "new@example.org,,2024-01-01\n"
    )
    assert (report.existing, report.suppressed, report.confirmed) == (1, 2, 1)
    assert by_email("here@example.org").name == "Original"
    assert by_email("gone@example.org") is None and by_email("erased@example.org") is None


def test_bad_rows_are_reported_by_line_and_the_rest_go_in(app):
    report = run_import(
        "email,name,topics,region,language\n"
        "good1@example.org,,,,\n"
        "not-an-address,,,,\n"
        "good2@example.org,,astrology,,\n"
        "good3@example.org,,,Atlantis,\n"
        "good4@example.org,,,,klingon\n"
        '"good5@example.org","Two\nlines",,,\n'
        f"good6@example.org,{'x' * 101},,,\n"
        "good7@example.org,Tab\there,,,\n"
        'good8@example.org,=HYPERLINK("x"),,,\n'
    )
    lines = [line for line, _ in report.problems]
    assert lines == [3, 4, 5, 6, 7, 9, 10]
    # Plain words, not the address library's ("There must be something after the @-sign").
    assert report.problems[0][1].startswith("This is not an email address: check that it has")
    assert report.problem_count == 7 and report.pending == 2
    assert by_email("good1@example.org") and by_email("good8@example.org")
    assert count(Subscriber) == 2


def test_undecodable_and_overlong_lines_are_bad_rows(app):
    data = (
        b"email\none@example.org\n\xff\xfe@example.org\n" + b"x" * 70_000 + b"\ntwo@example.org\n"
    )
    report = run_import(data)
    assert [line for line, _ in report.problems] == [3, 4]
    assert report.pending == 2


def test_columns_are_recognised_or_mapped_and_the_delimiter_guessed(app):
    report = run_import("E-mail;Preferred language;Opt-in date\nsemi@example.org;cy;2024-02-02\n")
    assert report.columns == {
        "email": "E-mail",
        "language": "Preferred language",
        "consent_date": "Opt-in date",
    }
    assert by_email("semi@example.org").language == "cy"
    report = run_import(
        "Work address,Who\nmapped@example.org,Mo\n",
        mapping={"email": "Work address", "name": "Who"},
    )
    assert report.pending == 1 and by_email("mapped@example.org").name == "Mo"
    with pytest.raises(MappingError):
        run_import("Who,What\nx,y\n")
    with pytest.raises(MappingError):
        run_import("email\nx@example.org\n", mapping={"email": "Missing column"})


def test_dry_run_reports_the_same_and_writes_nothing(app):
    csv_text = (
        "email,consent date\n"
        "a@example.org,2024-01-01\n"
        "b@example.org,\n"
        "a@example.org,2024-01-01\n"
        "bad,\n"
    )
    report = run_import(csv_text, dry_run=True, invite=True, batch_size=2)
    assert (
        report.confirmed,
        report.pending,
        report.invited,
        report.existing,
        report.problem_count,
    ) == (1, 1, 1, 1, 1)
    assert count(Subscriber) == 0 and count(ConsentEvent) == 0 and count(OutboxMessage) == 0
    applied = run_import(csv_text, invite=True, batch_size=2)
    assert (applied.confirmed, applied.pending, applied.invited, applied.existing) == (1, 1, 1, 1)


def test_import_command_maps_columns_and_reports(app, runner, tmp_path):
    path = tmp_path / "list.csv"
    path.write_text("Email Address,Consent\nc1@example.org,2024-05-05\nnope,\n", encoding="utf-8")
    result = runner.invoke(
        import_command, [str(path), "--map", "email=Email Address", "--map", "consent_date=Consent"]
    )
    assert result.exit_code == 0, result.output
    assert "Imported 1 confirmed and 0 pending" in result.output
    assert "line 3:" in result.output
    assert by_email("c1@example.org").status == SubscriberStatus.CONFIRMED
    bad = runner.invoke(import_command, [str(path), "--map", "email=Nope"])
    assert bad.exit_code == 2 and "No column is called Nope" in bad.output


def _write_big_file(path, rows: int, prefix: str = "reader") -> int:
    """A realistic export with a bad row every 1,000 lines; returns the number of bad rows."""
    regions = ["north-wales", "Mid Wales", "south-east-wales", ""]
    bad = 0
    with open(path, "w", encoding="utf-8", newline="") as handle:
        handle.write("Email Address,Full Name,Topics,Region,Language,Consent Date,Source\r\n")
        for n in range(rows):
            if n % 1000 == 999:
                bad += 1
                handle.write(f"broken-{n}-at-example.org,Bad,,,,,\r\n")
                continue
            consent = "2023-06-01" if n % 3 else ""
            handle.write(
                f"{prefix}{n}@example{n % 97}.org,Reader {n},workshops;news,"
                f"{regions[n % 4]},{'cy' if n % 2 else 'en'},{consent},legacy list\r\n"
            )
    return bad


def _rss_bytes() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.slow
def test_hundred_thousand_rows_import_with_flat_memory(app, tmp_path):
    # The rate is printed, not asserted: speed belongs to benchmarks, and a timed test fails
    # on a loaded machine (81 s here with other suites running; 40 s alone).
    path = tmp_path / "big.csv"
    rows = 100_000
    bad = _write_big_file(path, rows)
    options = ImportOptions(mapping={"email": "Email Address"}, invite=True, label="big.csv")
    baseline = _rss_bytes()
    highest = [baseline]

    def progress(_lines: int) -> None:
        highest[0] = max(highest[0], _rss_bytes())

    started = time.perf_counter()
    with open(path, "rb") as stream:
        report = import_csv(stream, options, progress=progress)
    elapsed = time.perf_counter() - started
    growth = (highest[0] - baseline) / 2**20
    print(
        f"\nimport: {rows:,} rows in {elapsed:.1f} s ({rows / elapsed:,.0f} rows/s), "
        f"resident memory grew {growth:.1f} MiB; file {path.stat().st_size / 2**20:.1f} MiB"
    )
    assert report.problem_count == bad
    assert report.confirmed + report.pending == rows - bad
    assert count(Subscriber) == rows - bad
    assert count(ConsentEvent) == rows - bad
    assert count(OutboxMessage) == report.pending == report.invited
    assert count(subscriber_topic) == 2 * (rows - bad)
    assert growth < 64


def _traced_peak(path, rows: int) -> int:
    _write_big_file(path, rows, prefix=path.stem)
    tracemalloc.start()
    with open(path, "rb") as stream:
        report = import_csv(
            stream, ImportOptions(mapping={"email": "Email Address"}, batch_size=500)
        )
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert report.confirmed + report.pending > 0
    return peak


@pytest.mark.slow
def test_import_memory_does_not_grow_with_the_file(app, tmp_path):
    # tracemalloc slows every allocation several times over, so it watches two smaller files
    # (4 and 16 batches) rather than the 100,000-row one: the peak must stay flat.
    small = _traced_peak(tmp_path / "small.csv", 2_000)
    large = _traced_peak(tmp_path / "large.csv", 8_000)
    print(
        f"\nimport peak traced memory: {small / 2**20:.1f} MiB for 2,000 rows, "
        f"{large / 2**20:.1f} MiB for 8,000 rows"
    )
    assert large < small * 1.5


def test_topics_left_empty_mean_every_active_topic(app):
    run_import("email\nall@example.org\n")
    active = db.session.scalar(select(func.count(Topic.id)).filter_by(is_active=True))
    assert len(by_email("all@example.org").topics) == active


@pytest.mark.parametrize(
    "address",
    [
        "Siân@Example.ORG",
        "a@bücher.de",
        "user+tag@EXAMPLE.com",
        '"quoted"@example.org',
        "a..b@example.org",
        "a@localhost",
        "a@example",
        "a@" + "b" * 250 + ".com",
        "@example.org",
        "plain",
        "a@b@c.org",
        "ñ@exämple.org",
        "a@[127.0.0.1]",
        "a b@example.org",
        "x" * 70 + "@e.org",
    ],
)
def test_import_checks_addresses_exactly_as_the_sign_up_form(app, address):
    from email_validator import EmailNotValidError, validate_email

    from bulletin.privacy.rows import RowError, check_address

    try:
        # email-validator's whole-address check, as the form did before core.addresses.
        result = validate_email(address, check_deliverability=False)
        expected = f"{result.local_part}@{(result.ascii_domain or result.domain).lower()}"
    except EmailNotValidError:
        expected = None
    try:
        got = check_address(address).typed
    except RowError:
        got = None
    assert got == expected
