"""issue_section_order: an issue can put its sections in its own order

Revision ID: 2d7493c2370c
Revises: 5092eab62cdc
Create Date: 2026-12-05 07:35:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "2d7493c2370c"
down_revision = "5092eab62cdc"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("issue") as batch_op:
        batch_op.add_column(sa.Column("section_order", sa.String(length=100), nullable=True))


def downgrade():
    with op.batch_alter_table("issue") as batch_op:
        batch_op.drop_column("section_order")
