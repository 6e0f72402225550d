"""care tasks: the coupon template each target gets with the task's message (needs coupons_1's table)"""
from alembic import op
import sqlalchemy as sa
from models.base import BigId

revision, down_revision = "care_2", "care_1"
depends_on = "coupons_1"


def upgrade() -> None:
    with op.batch_alter_table("care_tasks") as batch:
        batch.add_column(sa.Column("coupon_template_id", BigId, nullable=True))
        batch.create_foreign_key("fk_care_tasks_coupon_template_id_coupon_templates", "coupon_templates",
                                 ["coupon_template_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("care_tasks") as batch:
        batch.drop_constraint("fk_care_tasks_coupon_template_id_coupon_templates", type_="foreignkey")
        batch.drop_column("coupon_template_id")
