"""care tasks and campaigns: why a target was skipped, when it was reached; automation runs"""
from alembic import op
import sqlalchemy as sa
from models.base import BigId, UTCDateTime

revision, down_revision = "care_1", "0001"


def upgrade() -> None:
    op.create_table(
        "automation_runs",
        sa.Column("id", BigId, nullable=False),
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("rule", sa.String(32), nullable=False),
        sa.Column("customer_id", BigId, nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(160), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], name="fk_automation_runs_customer_id_customers"),
        sa.PrimaryKeyConstraint("id", name="pk_automation_runs"),
        sa.UniqueConstraint("key", name="uq_automation_runs_key"),
    )
    op.create_index("ix_automation_runs_rule", "automation_runs", ["rule"])
    op.create_index("ix_automation_runs_customer_id", "automation_runs", ["customer_id"])
    with op.batch_alter_table("care_task_targets") as batch:
        batch.add_column(sa.Column("skip_reason", sa.String(160), nullable=True))
        batch.add_column(sa.Column("sent_at", UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table("campaign_targets") as batch:
        batch.alter_column("skip_reason", type_=sa.String(160), existing_type=sa.String(120))
        batch.add_column(sa.Column("skip_code", sa.String(16), nullable=True))


def downgrade() -> None:
    op.drop_table("automation_runs")
    with op.batch_alter_table("campaign_targets") as batch:
        batch.drop_column("skip_code")
        batch.alter_column("skip_reason", type_=sa.String(120), existing_type=sa.String(160))
    with op.batch_alter_table("care_task_targets") as batch:
        batch.drop_column("sent_at")
        batch.drop_column("skip_reason")
