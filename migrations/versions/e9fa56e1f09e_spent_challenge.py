"""spent_challenge: proof-of-work challenges already used by /subscribe/external

Revision ID: e9fa56e1f09e
Revises: 0eb92f6f8aa8
Create Date: 2026-12-05 08:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "e9fa56e1f09e"
down_revision = "0eb92f6f8aa8"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "spent_challenge",
        sa.Column("challenge", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("challenge", name=op.f("pk_spent_challenge")),
    )
    with op.batch_alter_table("spent_challenge", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_spent_challenge_expires_at"), ["expires_at"], unique=False
        )


def downgrade():
    with op.batch_alter_table("spent_challenge", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_spent_challenge_expires_at"))
    op.drop_table("spent_challenge")
