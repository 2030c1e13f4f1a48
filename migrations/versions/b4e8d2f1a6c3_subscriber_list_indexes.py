"""subscriber list: indexes for its filters, trigram indexes for its search on PostgreSQL

Revision ID: b4e8d2f1a6c3
Revises: b4e2a7d9c1f3
Create Date: 2026-12-05 05:50:00.000000

The part-of-address search (ILIKE '%x%') is served on PostgreSQL by GIN trigram indexes
when the pg_trgm extension can be created (it ships with PostgreSQL's contrib); where it
cannot (no contrib, no right to create extensions), the search still works by scanning.
The trigram indexes are not in the models (they are PostgreSQL-only): their names end in
`_trgm`, which the schema comparison skips (migrations/env.py, tests/test_migrations.py).
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "b4e8d2f1a6c3"
down_revision = "b4e2a7d9c1f3"
branch_labels = None
depends_on = None

TRIGRAM_INDEXES = {"ix_subscriber_email_trgm": "email", "ix_subscriber_name_trgm": "name"}


def upgrade():
    with op.batch_alter_table("subscriber", schema=None) as batch_op:
        batch_op.create_index("ix_subscriber_region", ["region"], unique=False)
        batch_op.create_index("ix_subscriber_created_at", ["created_at"], unique=False)
    with op.batch_alter_table("subscriber_topic", schema=None) as batch_op:
        batch_op.create_index("ix_subscriber_topic_topic_id", ["topic_id"], unique=False)
    bind = op.get_bind()
    if bind.dialect.name == "postgresql" and _has_trigrams(bind):
        for name, column in TRIGRAM_INDEXES.items():
            op.execute(
                f"CREATE INDEX IF NOT EXISTS {name} ON subscriber USING gin ({column} gin_trgm_ops)"
            )


def _has_trigrams(bind) -> bool:
    try:
        with bind.begin_nested():
            bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
    except sa.exc.DBAPIError:
        return False
    return True


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for name in TRIGRAM_INDEXES:
            op.execute(f"DROP INDEX IF EXISTS {name}")
    with op.batch_alter_table("subscriber_topic", schema=None) as batch_op:
        batch_op.drop_index("ix_subscriber_topic_topic_id")
    with op.batch_alter_table("subscriber", schema=None) as batch_op:
        batch_op.drop_index("ix_subscriber_created_at")
        batch_op.drop_index("ix_subscriber_region")
