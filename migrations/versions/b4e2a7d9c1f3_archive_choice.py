"""archive_choice: a send says whether it publishes; an issue can be unpublished

Revision ID: b4e2a7d9c1f3
Revises: b7e4c2a9d1f5
Create Date: 2026-12-05 05:45:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "b4e2a7d9c1f3"
down_revision = "b7e4c2a9d1f5"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("send") as batch_op:
        batch_op.add_column(
            sa.Column("publish", sa.Boolean(), server_default=sa.text("true"), nullable=False)
        )
    with op.batch_alter_table("issue") as batch_op:
        batch_op.add_column(sa.Column("unpublished_at", sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table("issue") as batch_op:
        batch_op.drop_column("unpublished_at")
    with op.batch_alter_table("send") as batch_op:
        batch_op.drop_column("publish")
