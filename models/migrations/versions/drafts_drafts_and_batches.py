"""drafts: drafted copy with outcomes, and background draft batches"""
from alembic import op
import sqlalchemy as sa
from models.base import BigId, UTCDateTime

revision, down_revision = "drafts_1", "0001"


def upgrade() -> None:
    op.create_table(
        "draft_batches",
        sa.Column("id", BigId, nullable=False),
        sa.Column("requested_by", BigId, nullable=True),
        sa.Column("scenario", sa.String(length=32), nullable=False),
        sa.Column("task_id", BigId, nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=True),
        sa.Column("customer_ids", sa.JSON(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error", sa.String(length=255), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["requested_by"], ["staff.id"], name=op.f("fk_draft_batches_requested_by_staff")),
        sa.ForeignKeyConstraint(["task_id"], ["care_tasks.id"], name=op.f("fk_draft_batches_task_id_care_tasks")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_draft_batches")),
    )
    op.create_table(
        "drafts",
        sa.Column("id", BigId, nullable=False),
        sa.Column("customer_id", BigId, nullable=False),
        sa.Column("clerk_id", BigId, nullable=True),
        sa.Column("requested_by", BigId, nullable=True),
        sa.Column("scenario", sa.String(length=32), nullable=False),
        sa.Column("task_id", BigId, nullable=True),
        sa.Column("batch_id", BigId, nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("source", sa.Enum("llm", "template", name="draftsource", native_enum=False, length=8),
                  nullable=False),
        sa.Column("template_variant", sa.String(length=64), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("products", sa.JSON(), nullable=False),
        sa.Column("reason", sa.String(length=255), nullable=True),
        sa.Column("fallback_reason", sa.String(length=120), nullable=True),
        sa.Column("outcome", sa.Enum("sent_as_is", "edited", "discarded", name="draftoutcome",
                                     native_enum=False, length=16), nullable=True),
        sa.Column("outcome_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("message_id", BigId, nullable=True),
        sa.Column("replied_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("bought_order_id", BigId, nullable=True),
        sa.Column("bought_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], name=op.f("fk_drafts_customer_id_customers")),
        sa.ForeignKeyConstraint(["clerk_id"], ["staff.id"], name=op.f("fk_drafts_clerk_id_staff")),
        sa.ForeignKeyConstraint(["requested_by"], ["staff.id"], name=op.f("fk_drafts_requested_by_staff")),
        sa.ForeignKeyConstraint(["task_id"], ["care_tasks.id"], name=op.f("fk_drafts_task_id_care_tasks")),
        sa.ForeignKeyConstraint(["batch_id"], ["draft_batches.id"], name=op.f("fk_drafts_batch_id_draft_batches")),
        sa.ForeignKeyConstraint(["message_id"], ["messages.id"], name=op.f("fk_drafts_message_id_messages")),
        sa.ForeignKeyConstraint(["bought_order_id"], ["orders.id"], name=op.f("fk_drafts_bought_order_id_orders")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_drafts")),
    )
    with op.batch_alter_table("drafts", schema=None) as batch_op:
        batch_op.create_index("ix_drafts_customer_created", ["customer_id", "created_at"], unique=False)
        batch_op.create_index("ix_drafts_clerk_created", ["clerk_id", "created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_drafts_task_id"), ["task_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_drafts_batch_id"), ["batch_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("drafts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_drafts_batch_id"))
        batch_op.drop_index(batch_op.f("ix_drafts_task_id"))
        batch_op.drop_index("ix_drafts_clerk_created")
        batch_op.drop_index("ix_drafts_customer_created")
    op.drop_table("drafts")
    op.drop_table("draft_batches")
