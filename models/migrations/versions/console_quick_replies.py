"""console: quick replies (快捷回复) kept by clerks and head office"""
from alembic import op
import sqlalchemy as sa
from models.base import BigId, UTCDateTime

revision, down_revision = "console_1", "0001"


def upgrade() -> None:
    op.create_table(
        "quick_replies",
        sa.Column("id", BigId, nullable=False),
        sa.Column("owner_id", BigId, nullable=True),
        sa.Column("text", sa.String(length=500), nullable=False),
        sa.Column("created_by", BigId, nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["owner_id"], ["staff.id"], name=op.f("fk_quick_replies_owner_id_staff")),
        sa.ForeignKeyConstraint(["created_by"], ["staff.id"], name=op.f("fk_quick_replies_created_by_staff")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quick_replies")),
    )
    op.create_index("ix_quick_replies_owner", "quick_replies", ["owner_id", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_quick_replies_owner", table_name="quick_replies")
    op.drop_table("quick_replies")
