"""Job store: the migration matches the models, and the claim is one statement on both dialects."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.dialects import postgresql, sqlite

from backend.store.engine import create_engine, migrate
from backend.store.jobs import ClaimTerms, claim_statement
from backend.store.models import Base
from common.protocol import Capabilities


async def test_migrations_create_exactly_the_models(tmp_path: Path) -> None:
    """After `alembic upgrade head` the schema has nothing the models lack, and vice versa."""
    db = tmp_path / "m.sqlite3"
    engine = create_engine(f"sqlite+aiosqlite:///{db}")
    await migrate(engine)
    await migrate(engine)  # a second start-up is a no-op
    await engine.dispose()
    sync = create_sync_engine(f"sqlite:///{db}")
    with sync.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    sync.dispose()
    assert diff == []


def _claim_sql(dialect: object) -> str:
    caps = Capabilities(checkpoints_present=["a.safetensors"], checkpoints_loaded=["a.safetensors"])
    terms = ClaimTerms(lease_id="l", worker_id="w", now=100.0, ttl_s=30.0, affinity_max_wait_s=20.0)
    return str(claim_statement(caps, terms).compile(dialect=dialect))


def test_claim_locks_with_skip_locked_on_postgresql() -> None:
    """On PostgreSQL the claim's subquery takes FOR UPDATE SKIP LOCKED; SQLite gets plain SQL."""
    pg = _claim_sql(postgresql.dialect())
    lite = _claim_sql(sqlite.dialect())
    assert "FOR UPDATE SKIP LOCKED" in pg
    assert "RETURNING" in pg
    assert "FOR UPDATE" not in lite
    assert "RETURNING" in lite
