"""follower book: indexes behind segment filters (first purchase on a day, unpaid orders over ¥X)"""
from alembic import op

revision, down_revision = "tags_1", "0001"


def upgrade() -> None:
    op.create_index("ix_customers_first_paid_at", "customers", ["first_paid_at"])
    op.create_index("ix_orders_status_amount", "orders", ["status", "amount_fen"])


def downgrade() -> None:
    op.drop_index("ix_orders_status_amount", table_name="orders")
    op.drop_index("ix_customers_first_paid_at", table_name="customers")
