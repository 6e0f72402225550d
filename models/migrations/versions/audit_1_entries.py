"""audit: the trail of sign-ins, exports, handovers and rule changes"""
from alembic import op
import sqlalchemy as sa
from models.base import BigId, UTCDateTime

revision, down_revision = "audit_1", "0001"

UTC = UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "audit_entries",
        sa.Column("id", BigId, nullable=False),
        sa.Column("at", UTC, nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("actor_id", BigId, nullable=True),
        sa.Column("actor_label", sa.String(length=120), nullable=False),
        sa.Column("subject_kind", sa.String(length=24), nullable=True),
        sa.Column("subject_id", sa.String(length=64), nullable=True),
        sa.Column("store_id", BigId, nullable=True),
        sa.Column("address", sa.String(length=64), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["actor_id"], ["staff.id"], name=op.f("fk_audit_entries_actor_id_staff")),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"], name=op.f("fk_audit_entries_store_id_stores")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_entries")),
    )
    op.create_index(op.f("ix_audit_entries_at"), "audit_entries", ["at"])
    op.create_index(op.f("ix_audit_entries_actor_id"), "audit_entries", ["actor_id"])
    op.create_index("ix_audit_entries_action_at", "audit_entries", ["action", "at"])


def downgrade() -> None:
    op.drop_table("audit_entries")
