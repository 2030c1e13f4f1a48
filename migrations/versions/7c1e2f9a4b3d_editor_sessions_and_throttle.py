"""server-side editor sessions and the per-account password throttle

A signed-in browser is now a row in editor_session (the cookie carries its key, the row its
hash), so signing out, a password change or disabling an account ends sessions for good;
editor.session_version, which did the last two, goes. editor gains the count and time of
wrong passwords for the per-account throttle.

Revision ID: 7c1e2f9a4b3d
Revises: 63925585bb93
Create Date: 2026-12-02 12:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "7c1e2f9a4b3d"
down_revision = "63925585bb93"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "editor_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("editor_id", sa.Integer(), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["editor_id"],
            ["editor.id"],
            name=op.f("fk_editor_session_editor_id_editor"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_editor_session")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_editor_session_key_hash")),
    )
    with op.batch_alter_table("editor_session", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_editor_session_editor_id"), ["editor_id"], unique=False
        )
    # Every signed-in browser signs in again: the old cookies name no session row.
    with op.batch_alter_table("editor", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("failed_login_count", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(sa.Column("last_failed_login_at", sa.DateTime(), nullable=True))
        batch_op.drop_column("session_version")


def downgrade():
    with op.batch_alter_table("editor", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("session_version", sa.Integer(), server_default="1", nullable=False)
        )
        batch_op.drop_column("last_failed_login_at")
        batch_op.drop_column("failed_login_count")
    with op.batch_alter_table("editor_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_editor_session_editor_id"))
    op.drop_table("editor_session")
