"""Alembic head matches the models, and every revision downgrades and upgrades again."""

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from portal.extensions import db

MIGRATIONS = str(Path(__file__).resolve().parents[2] / "migrations")


def test_models_and_migrations_agree(ctx):
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
    assert diff == []


def test_downgrade_to_base_and_upgrade_again(ctx):
    db.session.remove()
    downgrade(directory=MIGRATIONS, revision="base")
    upgrade(directory=MIGRATIONS, revision="heads")
    with db.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), db.metadata) == []
