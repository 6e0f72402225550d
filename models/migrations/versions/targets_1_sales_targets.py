"""targets: monthly sales targets per clerk or store, with their history"""
from alembic import op
import sqlalchemy as sa
from models.base import BigId, UTCDateTime

revision, down_revision = "targets_1", "0001"

UTC = UTCDateTime(timezone=True)
CURRENT = "superseded_at IS NULL"


def upgrade() -> None:
    op.create_table(
        "sales_targets",
        sa.Column("id", BigId, nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("clerk_id", BigId, nullable=True),
        sa.Column("store_id", BigId, nullable=True),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("new_customers", sa.Integer(), nullable=True),
        sa.Column("reactivations", sa.Integer(), nullable=True),
        sa.Column("set_by", BigId, nullable=True),
        sa.Column("set_at", UTC, nullable=False),
        sa.Column("superseded_at", UTC, nullable=True),
        sa.CheckConstraint("(clerk_id IS NULL) <> (store_id IS NULL)", name=op.f("ck_sales_targets_one_subject")),
        sa.CheckConstraint("amount_fen >= 0", name=op.f("ck_sales_targets_amount_not_negative")),
        sa.ForeignKeyConstraint(["clerk_id"], ["staff.id"], name=op.f("fk_sales_targets_clerk_id_staff")),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"], name=op.f("fk_sales_targets_store_id_stores")),
        sa.ForeignKeyConstraint(["set_by"], ["staff.id"], name=op.f("fk_sales_targets_set_by_staff")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sales_targets")),
    )
    op.create_index("ix_sales_targets_period_clerk", "sales_targets", ["period", "clerk_id"])
    op.create_index("ix_sales_targets_period_store", "sales_targets", ["period", "store_id"])
    for subject in ("clerk", "store"):
        where = sa.text(f"{CURRENT} AND {subject}_id IS NOT NULL")
        op.create_index(f"uq_sales_targets_current_{subject}", "sales_targets", ["period", f"{subject}_id"],
                        unique=True, sqlite_where=where, postgresql_where=where)


def downgrade() -> None:
    op.drop_table("sales_targets")
