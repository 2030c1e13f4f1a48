"""rhythm: the bulletin's rhythm drafts issues; sends can wait for a second editor

Revision ID: 4f46a8d70849
Revises: 9bd1f5ee0c42
Create Date: 2026-12-05 08:20:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "4f46a8d70849"
down_revision = "9bd1f5ee0c42"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "rhythm",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("frequency", sa.String(length=20), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("week", sa.Integer(), nullable=False),
        sa.Column("hour", sa.Integer(), nullable=False),
        sa.Column("minute", sa.Integer(), nullable=False),
        sa.Column("audience", sa.Text(), nullable=False),
        sa.Column("intro_en", sa.Text(), nullable=True),
        sa.Column("intro_cy", sa.Text(), nullable=True),
        sa.Column("days_before", sa.Integer(), nullable=False),
        sa.Column("mode", sa.String(length=20), nullable=False),
        sa.Column("handled_through", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rhythm")),
    )
    with op.batch_alter_table("issue") as batch_op:
        batch_op.add_column(sa.Column("rhythm_date", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("closing_soon_before", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("rhythm_skipped_at", sa.DateTime(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_issue_rhythm_date"), ["rhythm_date"])
    with op.batch_alter_table("send") as batch_op:
        batch_op.add_column(sa.Column("approved_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("approved_at", sa.DateTime(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_send_approved_by_id_editor"),
            "editor",
            ["approved_by_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade():
    with op.batch_alter_table("send") as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_send_approved_by_id_editor"), type_="foreignkey")
        batch_op.drop_column("approved_at")
        batch_op.drop_column("approved_by_id")
    with op.batch_alter_table("issue") as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_issue_rhythm_date"), type_="unique")
        batch_op.drop_column("rhythm_skipped_at")
        batch_op.drop_column("closing_soon_before")
        batch_op.drop_column("rhythm_date")
    op.drop_table("rhythm")
