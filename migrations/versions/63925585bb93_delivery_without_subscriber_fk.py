"""delivery without a foreign key to subscriber

The per-row check of that key (and the row lock it takes on each subscriber) was half the
time to materialise a million deliveries on PostgreSQL. Erasure and retention now delete a
subscriber's deliveries themselves, and the senders skip a delivery whose subscriber is gone.

Revision ID: 63925585bb93
Revises: 18d631fb9972
Create Date: 2026-11-26 16:27:52.128922

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "63925585bb93"
down_revision = "18d631fb9972"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_delivery_subscriber_id_subscriber"), type_="foreignkey"
        )


def downgrade():
    # Deliveries of subscribers erased mid-send would break the restored key: drop them.
    op.execute(
        sa.text(
            "DELETE FROM delivery WHERE NOT EXISTS "
            "(SELECT 1 FROM subscriber WHERE subscriber.id = delivery.subscriber_id)"
        )
    )
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.create_foreign_key(
            batch_op.f("fk_delivery_subscriber_id_subscriber"),
            "subscriber",
            ["subscriber_id"],
            ["id"],
            ondelete="CASCADE",
        )
