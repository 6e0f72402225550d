"""auth: staff session generation (logout ends every session) and the must-change-password flag

Revision ID: auth_1
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa


revision = "auth_1"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("staff") as batch:
        batch.add_column(sa.Column("must_change_password", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("session_version", sa.Integer(), nullable=False, server_default=sa.text("0")))


def downgrade() -> None:
    with op.batch_alter_table("staff") as batch:
        batch.drop_column("session_version")
        batch.drop_column("must_change_password")
