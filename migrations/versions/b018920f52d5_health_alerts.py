"""health alerts, and an index for counting consent events by kind and week

The worker's health check keeps its alerts in health_alert (open while cleared_at is null);
the editor pages' banner reads the open ones. The insights page counts sign-ups,
confirmations and unsubscribes per week through ix_consent_event_kind_created_at.

Revision ID: b018920f52d5
Revises: 33a6d70da859
Create Date: 2026-12-05 07:40:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "b018920f52d5"
down_revision = "33a6d70da859"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "health_alert",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=20), nullable=False),
        sa.Column("metric", sa.String(length=20), nullable=False),
        sa.Column("send_id", sa.Integer(), nullable=True),
        sa.Column("rate", sa.Float(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("base", sa.Integer(), nullable=False),
        sa.Column("raised_at", sa.DateTime(), nullable=False),
        sa.Column("checked_at", sa.DateTime(), nullable=False),
        sa.Column("emailed_at", sa.DateTime(), nullable=True),
        sa.Column("cleared_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_health_alert_scope_metric", "health_alert", ["scope", "metric", "cleared_at"]
    )
    op.create_index("ix_consent_event_kind_created_at", "consent_event", ["kind", "created_at"])


def downgrade():
    op.drop_index("ix_consent_event_kind_created_at", table_name="consent_event")
    op.drop_index("ix_health_alert_scope_metric", table_name="health_alert")
    op.drop_table("health_alert")
