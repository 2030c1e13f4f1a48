"""send_exclude_already_sent: a new send of an issue leaves out readers who had it

Revision ID: b7e4c2a9d1f5
Revises: 9d3f6a1c2e87
Create Date: 2026-12-05 05:45:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "b7e4c2a9d1f5"
down_revision = "9d3f6a1c2e87"
branch_labels = None
depends_on = None


def upgrade():
    # Sends made before this column existed were sent to everyone: keep their meaning.
    with op.batch_alter_table("send", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "exclude_already_sent", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
    with op.batch_alter_table("send", schema=None) as batch_op:
        batch_op.alter_column("exclude_already_sent", server_default=sa.true())


def downgrade():
    with op.batch_alter_table("send", schema=None) as batch_op:
        batch_op.drop_column("exclude_already_sent")
