"""click_link: aggregate click counts per link of a send (nothing per reader)

Revision ID: 5092eab62cdc
Revises: b018920f52d5
Create Date: 2026-12-05 07:30:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "5092eab62cdc"
down_revision = "b018920f52d5"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "click_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("send_id", sa.Integer(), nullable=False),
        sa.Column("link_key", sa.String(length=64), nullable=False),
        sa.Column("item_order", sa.Integer(), nullable=False),
        sa.Column("item_kind", sa.String(length=20), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=True),
        sa.Column("issue_item_id", sa.Integer(), nullable=True),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("clicks", sa.Integer(), nullable=False),
        sa.Column("scanner_hits", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["issue_item_id"],
            ["issue_item.id"],
            name=op.f("fk_click_link_issue_item_id_issue_item"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["send_id"],
            ["send.id"],
            name=op.f("fk_click_link_send_id_send"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_click_link")),
        sa.UniqueConstraint("send_id", "link_key", name="uq_click_link_send_key"),
    )
    with op.batch_alter_table("click_link", schema=None) as batch_op:
        batch_op.create_index("ix_click_link_item", ["item_kind", "item_id"], unique=False)


def downgrade():
    with op.batch_alter_table("click_link", schema=None) as batch_op:
        batch_op.drop_index("ix_click_link_item")
    op.drop_table("click_link")
