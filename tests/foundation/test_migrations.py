"""The schema under test is the migrated one, and it matches the models."""

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from portal.extensions import db

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def _script() -> ScriptDirectory:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(config)


def test_migrations_have_exactly_one_head():
    assert len(_script().get_heads()) == 1


def test_migration_files_are_numbered_in_order():
    revisions = list(_script().walk_revisions())
    numbers = sorted(int(r.revision) for r in revisions)
    assert numbers == list(range(1, len(numbers) + 1))
    for path in (MIGRATIONS / "versions").glob("*.py"):
        assert path.name[:4].isdigit(), f"{path.name} is not numbered"


def test_migrated_schema_matches_the_models(app):
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(context, db.metadata)
    assert differences == []


def test_database_is_at_the_migration_head(app):
    with db.engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    assert current == _script().get_current_head()
