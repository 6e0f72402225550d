"""The commission migration builds exactly the tables the models describe, on both databases."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import models

COMMISSION_TABLES = {"attributions", "commission_rules", "commission_entries", "commission_periods"}


def _touches_commission(diff) -> bool:
    for item in diff if isinstance(diff, list) else [diff]:
        for part in item if isinstance(item, tuple) else (item,):
            table = getattr(part, "table", None)
            name = getattr(part, "name", None)
            if (table is not None and getattr(table, "name", None) in COMMISSION_TABLES) or name in COMMISSION_TABLES:
                return True
    return False


def test_commission_migration_matches_the_models(db):
    with db.engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), models.Base.metadata)
    assert [d for d in diffs if _touches_commission(d)] == []
