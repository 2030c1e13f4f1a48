"""consent_event.send_id: the send whose unsubscribe link a reader used

An issue's unsubscribe links now name their send (in the signed token), and the unsubscribe
event records it, so a send's report counts the unsubscribes its mail brought.

Revision ID: 0eb92f6f8aa8
Revises: e5a17c3b9f42
Create Date: 2026-12-05 07:40:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0eb92f6f8aa8"
down_revision = "e5a17c3b9f42"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("consent_event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("send_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_consent_event_send_id_send"),
            "send",
            ["send_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_index(
            "ix_consent_event_send_id",
            ["send_id"],
            unique=False,
            postgresql_where=sa.text("send_id IS NOT NULL"),
            sqlite_where=sa.text("send_id IS NOT NULL"),
        )


def downgrade():
    with op.batch_alter_table("consent_event", schema=None) as batch_op:
        batch_op.drop_index("ix_consent_event_send_id")
        batch_op.drop_constraint(batch_op.f("fk_consent_event_send_id_send"), type_="foreignkey")
        batch_op.drop_column("send_id")
