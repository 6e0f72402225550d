"""commission: split attributions (one row per order and clerk), paid period and sales share"""
from alembic import op
import sqlalchemy as sa
from models.base import BigId

revision, down_revision = "commission_1", "0001"


# The ledger is append-only: an entry is never edited in place (corrections are new entries).
# Deleting stays possible so a demo brand can be wiped and reseeded.
_PG_GUARD = """
CREATE FUNCTION commission_entries_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'commission_entries is append-only: book a new entry instead';
END $$ LANGUAGE plpgsql;
CREATE TRIGGER commission_entries_no_update BEFORE UPDATE ON commission_entries
    FOR EACH ROW EXECUTE FUNCTION commission_entries_append_only();
"""
_SQLITE_GUARD = """
CREATE TRIGGER commission_entries_no_update BEFORE UPDATE ON commission_entries
BEGIN
    SELECT RAISE(ABORT, 'commission_entries is append-only: book a new entry instead');
END
"""


def upgrade() -> None:
    with op.batch_alter_table("attributions", schema=None) as batch_op:
        batch_op.drop_constraint("uq_attributions_order_id", type_="unique")
        batch_op.add_column(sa.Column("store_id", BigId, nullable=True))
        batch_op.add_column(sa.Column("period", sa.String(length=7), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("sales_fen", sa.BigInteger(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("commissionable_fen", sa.BigInteger(), nullable=False,
                                      server_default="0"))
        batch_op.add_column(sa.Column("detail", sa.JSON(), nullable=True))
        batch_op.create_foreign_key("fk_attributions_store_id_stores", "stores", ["store_id"], ["id"])
        batch_op.create_unique_constraint("uq_attributions_order_id_clerk_id", ["order_id", "clerk_id"])
        batch_op.create_index("ix_attributions_order_id", ["order_id"], unique=False)
        batch_op.create_index("ix_attributions_store_id", ["store_id"], unique=False)
        batch_op.create_index("ix_attributions_clerk_period", ["clerk_id", "period"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_GUARD)
    elif op.get_bind().dialect.name == "sqlite":
        op.execute(_SQLITE_GUARD)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER commission_entries_no_update ON commission_entries")
        op.execute("DROP FUNCTION commission_entries_append_only()")
    elif op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER commission_entries_no_update")
    with op.batch_alter_table("attributions", schema=None) as batch_op:
        batch_op.drop_index("ix_attributions_clerk_period")
        batch_op.drop_index("ix_attributions_store_id")
        batch_op.drop_index("ix_attributions_order_id")
        batch_op.drop_constraint("uq_attributions_order_id_clerk_id", type_="unique")
        batch_op.drop_constraint("fk_attributions_store_id_stores", type_="foreignkey")
        batch_op.drop_column("detail")
        batch_op.drop_column("commissionable_fen")
        batch_op.drop_column("sales_fen")
        batch_op.drop_column("period")
        batch_op.drop_column("store_id")
        batch_op.create_unique_constraint("uq_attributions_order_id", ["order_id"])
