"""media library, an image on issue items, and the masthead

Revision ID: 33a6d70da859
Revises: 9d4c1a7e2b60
Create Date: 2026-12-05 07:40:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "33a6d70da859"
down_revision = "9d4c1a7e2b60"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "media",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("content_type", sa.String(length=40), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("alt_cy", sa.String(length=300), nullable=False),
        sa.Column("alt_en", sa.String(length=300), nullable=False),
        sa.Column("original_filename", sa.String(length=200), nullable=True),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["uploaded_by_id"],
            ["editor.id"],
            name=op.f("fk_media_uploaded_by_id_editor"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_media")),
        sa.UniqueConstraint("name", name=op.f("uq_media_name")),
    )
    op.create_table(
        "masthead",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("logo_id", sa.Integer(), nullable=True),
        sa.Column("background_colour", sa.String(length=7), nullable=False),
        sa.Column("text_colour", sa.String(length=7), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["logo_id"], ["media.id"], name=op.f("fk_masthead_logo_id_media")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_masthead")),
    )
    with op.batch_alter_table("issue_item", schema=None) as batch_op:
        batch_op.add_column(sa.Column("image_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_issue_item_image_id"), ["image_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_issue_item_image_id_media"), "media", ["image_id"], ["id"]
        )


def downgrade():
    with op.batch_alter_table("issue_item", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_issue_item_image_id_media"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_issue_item_image_id"))
        batch_op.drop_column("image_id")
    op.drop_table("masthead")
    op.drop_table("media")
