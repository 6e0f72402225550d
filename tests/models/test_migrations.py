"""The migrations build exactly the schema the models declare, on SQLite and PostgreSQL."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import models


def _diffs(engine):
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diffs = compare_metadata(ctx, models.Base.metadata)
    # SQLite cannot tell a BIGINT from an INTEGER primary key we map on purpose (BigId).
    return [d for d in diffs if not (isinstance(d, list) and d and d[0][0] == "modify_type"
                                     and engine.dialect.name == "sqlite")]


def test_migrated_schema_matches_the_models(db):
    assert _diffs(db.engine) == []
