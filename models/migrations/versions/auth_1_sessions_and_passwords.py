"""auth: staff session generation (logout ends every session) and the must-change-password flag"""
from alembic import op
import sqlalchemy as sa


revision, down_revision = "auth_1", "0001"


def upgrade() -> None:
    with op.batch_alter_table("staff") as batch:
        batch.add_column(sa.Column("must_change_password", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("session_version", sa.Integer(), nullable=False, server_default=sa.text("0")))


def downgrade() -> None:
    with op.batch_alter_table("staff") as batch:
        batch.drop_column("session_version")
        batch.drop_column("must_change_password")
