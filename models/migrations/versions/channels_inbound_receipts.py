"""channels: inbound receipts (de-duplicating vendor retries) and the delivery-report index, outbox claim batches"""
from alembic import op
import sqlalchemy as sa
from models.base import BigId, UTCDateTime

revision, down_revision = "channels_1", "0001"


def upgrade() -> None:
    op.create_table(
        "inbound_receipts",
        sa.Column("id", BigId, nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("account", sa.String(length=64), nullable=False),
        sa.Column("external_id", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("outcome", sa.String(length=24), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_receipts")),
        sa.UniqueConstraint("channel", "account", "external_id",
                            name=op.f("uq_inbound_receipts_channel_account_external_id")),
    )
    op.create_index(op.f("ix_outbox_provider_message_id"), "outbox", ["provider_message_id"])
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("claimed_by", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("claimed_by")
    op.drop_index(op.f("ix_outbox_provider_message_id"), table_name="outbox")
    op.drop_table("inbound_receipts")
