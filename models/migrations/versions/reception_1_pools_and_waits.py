"""reception: pooled conversations (待接待) and service waits; unrouted receipts become pooled

Conversations may have no clerk: they sit in a store's pool (``store_id``) or head office's.
A customer has at most one pooled conversation. ``service_waits`` hold each wait for an answer.
Receipts kept as ``unrouted`` before pools existed are turned into pool conversations by
``flask channels pool-unrouted`` (it needs the connectors, which a migration must not import).
"""
from alembic import op
import sqlalchemy as sa
from models.base import BigId, UTCDateTime

revision, down_revision = "reception_1", "channels_1"

BIG_ID = BigId
POOLED = sa.text("clerk_id IS NULL")


def upgrade() -> None:
    with op.batch_alter_table("conversations") as batch:
        batch.alter_column("clerk_id", existing_type=BIG_ID, nullable=True)
        batch.add_column(sa.Column("store_id", BIG_ID, nullable=True))
        batch.add_column(sa.Column("assigned_at", UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("waiting_since", UTCDateTime(timezone=True), nullable=True))
        batch.create_foreign_key(op.f("fk_conversations_store_id_stores"), "stores", ["store_id"], ["id"])
    op.create_index("uq_conversations_pooled_customer", "conversations", ["customer_id"], unique=True,
                    sqlite_where=POOLED, postgresql_where=POOLED)
    op.create_index("ix_conversations_pool", "conversations", ["store_id", "clerk_id"])
    op.create_table(
        "service_waits",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("conversation_id", BIG_ID, nullable=False),
        sa.Column("customer_id", BIG_ID, nullable=False),
        sa.Column("store_id", BIG_ID, nullable=True),
        sa.Column("clerk_id", BIG_ID, nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("started_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("answered_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("escalation", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversations.id"],
                                name=op.f("fk_service_waits_conversation_id_conversations")),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], name=op.f("fk_service_waits_customer_id_customers")),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"], name=op.f("fk_service_waits_store_id_stores")),
        sa.ForeignKeyConstraint(["clerk_id"], ["staff.id"], name=op.f("fk_service_waits_clerk_id_staff")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_waits")),
    )
    op.create_index(op.f("ix_service_waits_conversation_id"), "service_waits", ["conversation_id"])
    op.create_index("ix_service_waits_open", "service_waits", ["answered_at", "started_at"])


def downgrade() -> None:
    op.drop_index("ix_service_waits_open", table_name="service_waits")
    op.drop_index(op.f("ix_service_waits_conversation_id"), table_name="service_waits")
    op.drop_table("service_waits")
    op.drop_index("ix_conversations_pool", table_name="conversations")
    op.drop_index("uq_conversations_pooled_customer", table_name="conversations")
    op.execute("DELETE FROM messages WHERE conversation_id IN (SELECT id FROM conversations WHERE clerk_id IS NULL)")
    op.execute("DELETE FROM conversations WHERE clerk_id IS NULL")
    with op.batch_alter_table("conversations") as batch:
        batch.drop_constraint(op.f("fk_conversations_store_id_stores"), type_="foreignkey")
        batch.drop_column("waiting_since")
        batch.drop_column("assigned_at")
        batch.drop_column("store_id")
        batch.alter_column("clerk_id", existing_type=BIG_ID, nullable=False)
