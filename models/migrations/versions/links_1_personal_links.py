"""links: personal product pages (专属商品页) and their events"""
from alembic import op
import sqlalchemy as sa
from models.base import BigId, UTCDateTime

revision, down_revision = "links_1", "0001"

UTC = UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "personal_links",
        sa.Column("id", BigId, nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("code", sa.String(length=12), nullable=False),
        sa.Column("customer_id", BigId, nullable=False),
        sa.Column("clerk_id", BigId, nullable=False),
        sa.Column("skus", sa.JSON(), nullable=False),
        sa.Column("source_kind", sa.String(length=16), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=True),
        sa.Column("created_by", BigId, nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("expires_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], name=op.f("fk_personal_links_customer_id_customers")),
        sa.ForeignKeyConstraint(["clerk_id"], ["staff.id"], name=op.f("fk_personal_links_clerk_id_staff")),
        sa.ForeignKeyConstraint(["created_by"], ["staff.id"], name=op.f("fk_personal_links_created_by_staff")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_personal_links")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_personal_links_token_hash")),
        sa.UniqueConstraint("code", name=op.f("uq_personal_links_code")),
    )
    op.create_index("ix_personal_links_source", "personal_links", ["source_kind", "source_id", "customer_id"])
    op.create_index("ix_personal_links_customer", "personal_links", ["customer_id", "created_at"])
    op.create_index(op.f("ix_personal_links_clerk_id"), "personal_links", ["clerk_id"])
    op.create_table(
        "link_events",
        sa.Column("id", BigId, nullable=False),
        sa.Column("link_id", BigId, nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=True),
        sa.Column("at", UTC, nullable=False),
        sa.Column("agent", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(["link_id"], ["personal_links.id"], name=op.f("fk_link_events_link_id_personal_links")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_link_events")),
    )
    op.create_index("ix_link_events_link_kind_at", "link_events", ["link_id", "kind", "at"])


def downgrade() -> None:
    op.drop_index("ix_link_events_link_kind_at", table_name="link_events")
    op.drop_table("link_events")
    op.drop_index(op.f("ix_personal_links_clerk_id"), table_name="personal_links")
    op.drop_index("ix_personal_links_customer", table_name="personal_links")
    op.drop_index("ix_personal_links_source", table_name="personal_links")
    op.drop_table("personal_links")
