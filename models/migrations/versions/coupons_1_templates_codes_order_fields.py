"""coupons: templates, issued codes, and the order fields ref / coupon_code"""
from alembic import op
import sqlalchemy as sa
from models.base import BigId, UTCDateTime

revision, down_revision = "coupons_1", "0001"

UTC = UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ref", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("coupon_code", sa.String(length=32), nullable=True))
        batch_op.create_index(batch_op.f("ix_orders_ref"), ["ref"], unique=False)
    op.create_table(
        "coupon_templates",
        sa.Column("id", BigId, nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("kind", sa.Enum("amount_off", "percent_off", "no_threshold", name="couponkind",
                                  native_enum=False, length=16), nullable=False),
        sa.Column("value_fen", sa.BigInteger(), nullable=True),
        sa.Column("percent", sa.Integer(), nullable=True),
        sa.Column("cap_fen", sa.BigInteger(), nullable=True),
        sa.Column("threshold_fen", sa.BigInteger(), nullable=False),
        sa.Column("valid_days", sa.Integer(), nullable=True),
        sa.Column("valid_from", UTC, nullable=True),
        sa.Column("valid_to", UTC, nullable=True),
        sa.Column("scope", sa.JSON(), nullable=False),
        sa.Column("per_customer_limit", sa.Integer(), nullable=False),
        sa.Column("budget_count", sa.Integer(), nullable=True),
        sa.Column("budget_fen", sa.BigInteger(), nullable=True),
        sa.Column("issued_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("reserved_fen", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("refund_returns_coupon", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by", BigId, nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(["created_by"], ["staff.id"], name=op.f("fk_coupon_templates_created_by_staff")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coupon_templates")),
    )
    op.create_table(
        "coupons",
        sa.Column("id", BigId, nullable=False),
        sa.Column("template_id", BigId, nullable=False),
        sa.Column("customer_id", BigId, nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("issued_at", UTC, nullable=False),
        sa.Column("valid_from", UTC, nullable=True),
        sa.Column("expires_at", UTC, nullable=False),
        sa.Column("source", sa.Enum("task", "campaign", "automation", "clerk", "api", name="couponsource",
                                    native_enum=False, length=16), nullable=False),
        sa.Column("source_ref", sa.String(length=64), nullable=False),
        sa.Column("issued_by", BigId, nullable=True),
        sa.Column("state", sa.Enum("issued", "redeemed", "expired", "void", name="couponstate",
                                   native_enum=False, length=16), nullable=False),
        sa.Column("order_id", BigId, nullable=True),
        sa.Column("redeemed_at", UTC, nullable=True),
        sa.Column("discount_fen", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["template_id"], ["coupon_templates.id"],
                                name=op.f("fk_coupons_template_id_coupon_templates")),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], name=op.f("fk_coupons_customer_id_customers")),
        sa.ForeignKeyConstraint(["issued_by"], ["staff.id"], name=op.f("fk_coupons_issued_by_staff")),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_coupons_order_id_orders")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coupons")),
        sa.UniqueConstraint("code", name=op.f("uq_coupons_code")),
        sa.UniqueConstraint("order_id", name=op.f("uq_coupons_order_id")),
        sa.UniqueConstraint("template_id", "customer_id", "source", "source_ref",
                            name=op.f("uq_coupons_template_id_customer_id_source_source_ref")),
    )
    with op.batch_alter_table("coupons", schema=None) as batch_op:
        batch_op.create_index("ix_coupons_customer_state", ["customer_id", "state"], unique=False)
        batch_op.create_index("ix_coupons_source", ["source", "source_ref"], unique=False)
        batch_op.create_index(batch_op.f("ix_coupons_template_id"), ["template_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_coupons_issued_by"), ["issued_by"], unique=False)


def downgrade() -> None:
    op.drop_table("coupons")
    op.drop_table("coupon_templates")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_orders_ref"))
        batch_op.drop_column("coupon_code")
        batch_op.drop_column("ref")
