"""console: quick replies (快捷回复) kept by clerks and head office

Revision ID: console_1
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa
import models.base


revision = "console_1"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "quick_replies",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("owner_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("text", sa.String(length=500), nullable=False),
        sa.Column("created_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["owner_id"], ["staff.id"], name=op.f("fk_quick_replies_owner_id_staff")),
        sa.ForeignKeyConstraint(["created_by"], ["staff.id"], name=op.f("fk_quick_replies_created_by_staff")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quick_replies")),
    )
    op.create_index("ix_quick_replies_owner", "quick_replies", ["owner_id", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_quick_replies_owner", table_name="quick_replies")
    op.drop_table("quick_replies")
