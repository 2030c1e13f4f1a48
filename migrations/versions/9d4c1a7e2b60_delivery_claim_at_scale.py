"""delivery: an index of leased rows, and autovacuum settings for a table that churns

The claim no longer looks for expired leases in every batch: a rarer query does, through
ix_delivery_leased (claimed rows by the end of their lease). On PostgreSQL the delivery
table is vacuumed after a few thousand dead tuples rather than a fifth of the table, and
analysed more often (bulletin.models.send.DELIVERY_AUTOVACUUM).

Revision ID: 9d4c1a7e2b60
Revises: b4e8d2f1a6c3
Create Date: 2026-12-05 05:30:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "9d4c1a7e2b60"
down_revision = "b4e8d2f1a6c3"
branch_labels = None
depends_on = None

# A copy of bulletin.models.send.DELIVERY_AUTOVACUUM as it was when this was written.
AUTOVACUUM = (
    "autovacuum_vacuum_scale_factor = 0.0, autovacuum_vacuum_threshold = 5000,"
    " autovacuum_analyze_scale_factor = 0.05"
)
RESET = (
    "autovacuum_vacuum_scale_factor, autovacuum_vacuum_threshold, autovacuum_analyze_scale_factor"
)


def upgrade():
    op.create_index(
        "ix_delivery_leased",
        "delivery",
        ["claimed_until"],
        unique=False,
        postgresql_where=sa.text("status = 'sending'"),
        sqlite_where=sa.text("status = 'sending'"),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE delivery SET ({AUTOVACUUM})")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE delivery RESET ({RESET})")
    op.drop_index(
        "ix_delivery_leased",
        table_name="delivery",
        postgresql_where=sa.text("status = 'sending'"),
        sqlite_where=sa.text("status = 'sending'"),
    )
