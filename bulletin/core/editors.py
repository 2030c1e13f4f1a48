"""Editor accounts: Argon2id password hashes, sign-in checks, and `bulletin create-editor`."""

from __future__ import annotations

import functools
import gzip
import string
from datetime import datetime, timedelta
from pathlib import Path

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError
from flask_babel import gettext as _
from sqlalchemy import case, func, select, update

from bulletin.core import sessions
from bulletin.core.audit import record_audit
from bulletin.extensions import db
from bulletin.models import Editor, Role, utcnow

#: OWASP (SEC-08) asks for at least m=19456 KiB, t=2, p=1; these are argon2-cffi's
#: RFC 9106 "low memory" profile, comfortably above it.
HASHER = PasswordHasher(
    time_cost=3, memory_cost=65536, parallelism=4, hash_len=32, salt_len=16, type=Type.ID
)
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1000
#: The 19,640 most common passwords (lower-cased), as Django 5.2's CommonPasswordValidator
#: ships them (django/contrib/auth/common-passwords.txt.gz, BSD licence: see
#: common-passwords.LICENSE beside it).
COMMON_PASSWORDS = Path(__file__).with_name("common-passwords.txt.gz")
_DECORATION = string.digits + string.punctuation + " "
#: Wrong passwords older than this are forgotten, so a typo next week starts from zero.
FORGET_FAILURES_AFTER = timedelta(hours=1)
#: Verified against when the address is unknown, so both failures take as long.
_DUMMY_HASH = HASHER.hash("not-a-real-password")


class AccountError(ValueError):
    """An account could not be created or changed; the message says why."""


def hash_password(password: str) -> str:
    """An Argon2id hash of the password."""
    return HASHER.hash(password)


def check_password(editor: Editor | None, password: str) -> bool:
    """Whether the password is the editor's; rehashes when the parameters have grown."""
    stored = editor.password_hash if editor is not None else _DUMMY_HASH
    try:
        HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False
    if editor is None:
        return False
    if HASHER.check_needs_rehash(stored):
        editor.password_hash = hash_password(password)
    return True


def verify_password(editor: Editor | None, password: str) -> bool:
    """check_password under the per-account throttle (Editor.password_checks_paused_until).

    While the account is paused every password fails, the right one too, after the same
    work as a real check, so the pause shows in neither the answer nor its timing. Each
    wrong password is counted in the database, so the throttle holds across processes;
    the caller commits either way.
    """
    now = utcnow()
    if editor is not None:
        # Read afresh: another process may have counted failures since this row was loaded.
        db.session.refresh(editor, ["failed_login_count", "last_failed_login_at"])
        paused_until = editor.password_checks_paused_until()
        if paused_until is not None and now < paused_until:
            check_password(None, password)
            return False
    if check_password(editor, password):
        editor.failed_login_count = 0
        editor.last_failed_login_at = None
        return True
    if editor is not None:
        _count_failure(editor, now)
    return False


def _count_failure(editor: Editor, now: datetime) -> None:
    # One UPDATE, so failures from several processes at once all count.
    forgotten = Editor.last_failed_login_at < now - FORGET_FAILURES_AFTER
    db.session.execute(
        update(Editor)
        .where(Editor.id == editor.id)
        .values(
            failed_login_count=case((forgotten, 1), else_=Editor.failed_login_count + 1),
            last_failed_login_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    db.session.expire(editor, ["failed_login_count", "last_failed_login_at"])


def find_editor(email: str) -> Editor | None:
    """The editor with this address (case-insensitive), if any."""
    return db.session.scalar(select(Editor).where(func.lower(Editor.email) == email.lower()))


def authenticate(email: str, password: str) -> Editor | None:
    """The active editor these credentials belong to, or None (one answer for every failure)."""
    editor = find_editor(email.strip())
    if not verify_password(editor, password) or editor is None or not editor.is_active:
        return None
    editor.last_login_at = utcnow()
    return editor


def check_new_password(password: str) -> None:
    """The one password rule, wherever a password is set: long enough and not a common one."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(
            _("The password must be at least %(n)d characters.", n=MIN_PASSWORD_LENGTH)
        )
    if len(password) > MAX_PASSWORD_LENGTH:  # the forms' limit too; keeps the checks cheap
        raise AccountError(
            _("The password must be at most %(n)d characters.", n=MAX_PASSWORD_LENGTH)
        )
    if is_common_password(password):
        raise AccountError(_("This password is too common: choose one that is harder to guess."))


@functools.cache
def _common_passwords() -> frozenset[str]:
    with gzip.open(COMMON_PASSWORDS, "rt", encoding="utf-8") as lines:
        return frozenset(line.strip() for line in lines if line.strip())


def is_common_password(password: str) -> bool:
    """A listed password, also when decorated ("Password123!") or repeated ("abcabcabcabc")."""
    lowered = password.strip().lower()
    stems = {lowered, lowered.rstrip(_DECORATION), lowered.lstrip(_DECORATION)}
    unit = _repeated_unit(lowered)
    if unit is not None:
        if len(unit) <= 4:  # "aaaaaaaaaaaa", "abababababab"
            return True
        stems.add(unit)
    return not _common_passwords().isdisjoint(stems - {""})


def _repeated_unit(text: str) -> str | None:
    # The shortest piece that the text is two or more copies of, if any.
    for size in range(1, len(text) // 2 + 1):
        if len(text) % size == 0 and text[:size] * (len(text) // size) == text:
            return text[:size]
    return None


def create_editor(
    email: str,
    password: str,
    *,
    role: str = Role.EDITOR,
    name: str | None = None,
    by: Editor | None = None,
) -> Editor:
    """Add an editor account (the caller commits)."""
    email = email.strip()
    if "@" not in email:
        raise AccountError("Enter an email address.")
    if role not in (Role.ADMIN, Role.EDITOR):
        raise AccountError("The role must be admin or editor.")
    if find_editor(email) is not None:
        raise AccountError("An editor with this email address already exists.")
    check_new_password(password)
    editor = Editor(email=email, name=name, role=role, password_hash=hash_password(password))
    db.session.add(editor)
    db.session.flush()
    record_audit("editor.create", editor, detail={"email": email, "role": role}, editor=by)
    return editor


def set_password(editor: Editor, password: str, *, by: Editor | None = None) -> None:
    """Change the password and end every existing session of the account."""
    check_new_password(password)
    editor.password_hash = hash_password(password)
    sessions.end_all_sessions(editor)
    record_audit("editor.password", editor, editor=by)


def reset_password(editor: Editor, password: str) -> None:
    """`bulletin set-password`: a new password for a locked-out account, its sessions ended
    and its wrong-password throttle cleared (the caller commits)."""
    check_new_password(password)
    editor.password_hash = hash_password(password)
    editor.failed_login_count = 0
    editor.last_failed_login_at = None
    sessions.end_all_sessions(editor)
    record_audit("editor.password_reset", editor, detail={"by": "command line"})
