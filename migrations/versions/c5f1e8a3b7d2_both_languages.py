"""both_languages: a reader may choose Welsh and English in one email ("cy+en")

Widens the language columns a reader's choice is copied into (subscriber, delivery,
outbox_message, consent_event) from 2 to 5 characters. On PostgreSQL widening a varchar
rewrites nothing.

Revision ID: c5f1e8a3b7d2
Revises: 4f46a8d70849
Create Date: 2026-12-05 08:10:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "c5f1e8a3b7d2"
down_revision = "4f46a8d70849"
branch_labels = None
depends_on = None

TABLES = ("subscriber", "delivery", "outbox_message", "consent_event")


def upgrade():
    for table in TABLES:
        with op.batch_alter_table(table) as batch_op:
            batch_op.alter_column(
                "language", existing_type=sa.String(length=2), type_=sa.String(length=5)
            )


def downgrade():
    # A reader who chose both goes back to Welsh (the first language of their emails).
    for table in TABLES:
        op.execute(sa.text(f"UPDATE {table} SET language = 'cy' WHERE language = 'cy+en'"))
        with op.batch_alter_table(table) as batch_op:
            batch_op.alter_column(
                "language", existing_type=sa.String(length=5), type_=sa.String(length=2)
            )
