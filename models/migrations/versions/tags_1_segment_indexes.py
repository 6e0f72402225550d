"""follower book: indexes behind segment filters (first purchase on a day, unpaid orders over ¥X)

Revision ID: tags_1
Revises: 0001
"""
from alembic import op

revision = "tags_1"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_customers_first_paid_at", "customers", ["first_paid_at"])
    op.create_index("ix_orders_status_amount", "orders", ["status", "amount_fen"])


def downgrade() -> None:
    op.drop_index("ix_orders_status_amount", table_name="orders")
    op.drop_index("ix_customers_first_paid_at", table_name="customers")
