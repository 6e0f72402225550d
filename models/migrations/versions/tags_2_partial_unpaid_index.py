"""follower book: the unpaid-order index becomes partial (status = 'created')

A full (status, amount_fen) index tempted SQLite to walk it for every "paid orders of these
customers" query (status IN paid…), turning a one-customer retag into a scan of all paid orders.
"""
import sqlalchemy as sa
from alembic import op

revision, down_revision = "tags_2", "tags_1"

UNPAID = "status = 'created'"


def upgrade() -> None:
    op.drop_index("ix_orders_status_amount", table_name="orders")
    op.create_index("ix_orders_unpaid_amount", "orders", ["amount_fen"],
                    sqlite_where=sa.text(UNPAID), postgresql_where=sa.text(UNPAID))


def downgrade() -> None:
    op.drop_index("ix_orders_unpaid_amount", table_name="orders")
    op.create_index("ix_orders_status_amount", "orders", ["status", "amount_fen"])
