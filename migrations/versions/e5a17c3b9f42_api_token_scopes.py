"""api_token: scopes (what each token may do)

Existing tokens keep what they could do before scopes existed: the catalogue, issues and
sends. The subscriber scopes are granted only to new tokens, by an admin, for an admin.

Revision ID: e5a17c3b9f42
Revises: 2d7493c2370c
Create Date: 2026-12-05 08:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "e5a17c3b9f42"
down_revision = "2d7493c2370c"
branch_labels = None
depends_on = None

#: A copy of bulletin.core.api_tokens.DEFAULT_SCOPES as it was when this was written.
EXISTING_RIGHTS = "catalogue issues sends"


def upgrade():
    with op.batch_alter_table("api_token") as batch_op:
        batch_op.add_column(
            sa.Column(
                "scopes", sa.String(length=200), nullable=False, server_default=EXISTING_RIGHTS
            )
        )
    # Every new token names its scopes: no default in the schema.
    with op.batch_alter_table("api_token") as batch_op:
        batch_op.alter_column("scopes", server_default=None)


def downgrade():
    with op.batch_alter_table("api_token") as batch_op:
        batch_op.drop_column("scopes")
