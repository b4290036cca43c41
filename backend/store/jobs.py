"""JobStore: every read and state transition of the jobs table.

Transitions are single conditional UPDATEs (`WHERE id=? AND lease_id=? AND state=?`), so
they are atomic on SQLite and PostgreSQL alike; the claim is one UPDATE whose subquery
takes `FOR UPDATE SKIP LOCKED` on PostgreSQL (SQLite has one writer and ignores it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, and_, case, delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from backend.store.models import EndUserRow, JobRow
from common.protocol import Capabilities, JobState

QUEUED = JobState.QUEUED.value
RUNNING = JobState.RUNNING.value


@dataclass(frozen=True)
class ClaimTerms:
    """What a claim writes: the new lease and its expiry."""

    lease_id: str
    worker_id: str
    now: float
    ttl_s: float
    affinity_max_wait_s: float


@dataclass(frozen=True)
class Outcome:
    """Fields written when a running job reaches a final state (or goes back to the queue)."""

    state: str
    error_code: str | None = None
    error: str | None = None
    values: dict[str, Any] = field(default_factory=dict)
    # False when the backend itself moved the job (expired lease): the old lease stays stale
    record_lease: bool = True


class JobStore:
    """Repository over the jobs and end_users tables."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        self._dialect = engine.dialect.name

    async def ping(self) -> bool:
        """True when the database answers a trivial query."""
        async with self._sessions() as session:
            return bool((await session.execute(select(1))).scalar_one() == 1)

    async def insert(self, row: JobRow) -> None:
        """Store a new job."""
        async with self._sessions.begin() as session:
            session.add(row)

    async def get(self, job_id: str) -> JobRow | None:
        """The job with this id, detached from its session."""
        async with self._sessions() as session:
            return await session.get(JobRow, job_id)

    async def queue_position(self, row: JobRow) -> int:
        """1-based place of a queued job among queued jobs (priority, then age)."""
        async with self._sessions() as session:
            return await _position(session, row)

    async def get_with_position(self, job_id: str) -> tuple[JobRow | None, int | None]:
        """A job and, while it is queued, its queue position, in one session."""
        async with self._sessions() as session:
            row = await session.get(JobRow, job_id)
            if row is None or row.state != QUEUED:
                return row, None
            return row, await _position(session, row)

    async def queue_depth(self) -> int:
        """How many jobs wait in the queue."""
        stmt = select(func.count()).select_from(JobRow).where(JobRow.state == QUEUED)
        async with self._sessions() as session:
            return int((await session.execute(stmt)).scalar_one())

    async def counts_since(self, since: float) -> tuple[int, int]:
        """Jobs created since `since`, and jobs that ended failed since then."""
        failed = (JobRow.state == JobState.FAILED.value) & (JobRow.finished_at >= since)
        stmt = select(func.count().filter(JobRow.created_at >= since), func.count().filter(failed))
        async with self._sessions() as session:
            created, failures = (await session.execute(stmt)).one()
        return int(created), int(failures)

    async def claim(self, caps: Capabilities, terms: ClaimTerms) -> JobRow | None:
        """Lease the best queued job this worker can run, or None."""
        async with self._sessions.begin() as session:
            return (await session.execute(claim_statement(caps, terms))).scalars().first()

    async def renew(
        self, job_id: str, lease_id: str, step: int, total: int, expires: float
    ) -> bool:
        """Record progress and extend the lease of a running job; False if the lease is stale."""
        stmt = (
            update(JobRow)
            .where(JobRow.id == job_id, JobRow.lease_id == lease_id, JobRow.state == RUNNING)
            .values(progress_step=step, progress_total=total, lease_expires_at=expires)
        )
        return await self._update(stmt)

    async def settle(
        self, job_id: str, lease_id: str, outcome: Outcome, now: float
    ) -> JobRow | None:
        """Move a running job under this lease to its outcome; the new row, None if stale."""
        values: dict[str, Any] = {
            "state": outcome.state,
            "error_code": outcome.error_code,
            "error": outcome.error,
            **outcome.values,
        }
        if outcome.record_lease:
            values["outcome_lease_id"] = lease_id
        if outcome.state == QUEUED:
            values.update(lease_id=None, lease_worker=None, lease_expires_at=None)
        else:
            values.update(finished_at=now, lease_expires_at=None)
        stmt = (
            update(JobRow)
            .where(JobRow.id == job_id, JobRow.lease_id == lease_id, JobRow.state == RUNNING)
            .values(**values)
            .returning(JobRow)
        )
        async with self._sessions.begin() as session:
            return (await session.execute(stmt)).scalars().first()

    async def cancel(self, job_id: str, now: float) -> bool:
        """Cancel a queued or running job; False when it already reached a final state."""
        stmt = (
            update(JobRow)
            .where(JobRow.id == job_id, JobRow.state.in_([QUEUED, RUNNING]))
            .values(
                state=JobState.CANCELLED.value,
                finished_at=now,
                error_code="cancelled",
                error="The task was cancelled.",
            )
        )
        return await self._update(stmt)

    async def leases_expired(self, now: float) -> Sequence[JobRow]:
        """Running jobs whose lease ran out."""
        stmt = select(JobRow).where(JobRow.state == RUNNING, JobRow.lease_expires_at < now)
        async with self._sessions() as session:
            return (await session.execute(stmt)).scalars().all()

    async def expire_waiting(self, now: float) -> Sequence[str]:
        """Mark queued jobs past their deadline `expired`; returns their ids."""
        stmt = (
            update(JobRow)
            .where(JobRow.state == QUEUED, JobRow.deadline_at < now)
            .values(
                state=JobState.EXPIRED.value,
                finished_at=now,
                error_code="expired",
                error="The task waited in the queue longer than its deadline.",
            )
            .returning(JobRow.id)
        )
        async with self._sessions.begin() as session:
            return (await session.execute(stmt)).scalars().all()

    async def finished_before(self, cutoff: float) -> Sequence[JobRow]:
        """Final jobs that finished before the cutoff (for the retention sweep)."""
        stmt = select(JobRow).where(JobRow.finished_at < cutoff)
        async with self._sessions() as session:
            return (await session.execute(stmt)).scalars().all()

    async def delete(self, job_ids: Sequence[str]) -> None:
        """Remove jobs for good."""
        if job_ids:
            async with self._sessions.begin() as session:
                await session.execute(delete(JobRow).where(JobRow.id.in_(job_ids)))

    async def end_user(self, user_key: str) -> EndUserRow | None:
        """Strike record of an end user, if any."""
        async with self._sessions() as session:
            return await session.get(EndUserRow, user_key)

    async def add_strike(self, user_key: str, now: float) -> int:
        """Count one policy strike against an end user; returns the new total."""
        # one upsert: two first strikes at once both count (read-then-insert raced on PostgreSQL)
        async with self._sessions.begin() as session:
            stmt = _strike_upsert(self._dialect, user_key, now)
            return int((await session.execute(stmt)).scalar_one())

    async def _update(self, stmt: Any) -> bool:
        async with self._sessions.begin() as session:
            result = await session.execute(stmt)
            return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def claim_statement(caps: Capabilities, terms: ClaimTerms) -> Any:
    """One UPDATE of the best runnable queued job, its subquery locked with SKIP LOCKED."""
    candidate = (
        select(JobRow.id)
        .where(JobRow.state == QUEUED, *_runnable_by(caps))
        .order_by(*_claim_order(caps, terms))
        .limit(1)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    return (
        update(JobRow)
        .where(JobRow.id == candidate, JobRow.state == QUEUED)
        .values(
            state=RUNNING,
            lease_id=terms.lease_id,
            lease_worker=terms.worker_id,
            lease_expires_at=terms.now + terms.ttl_s,
            attempts=JobRow.attempts + 1,
            started_at=terms.now,
            progress_step=0,
            progress_total=0,
        )
        .returning(JobRow)
    )


def _strike_upsert(dialect: str, user_key: str, now: float) -> Any:
    """INSERT a first strike, or add one to the existing row; returns the new total."""
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = insert(EndUserRow).values(id=user_key, strikes=1, last_strike_at=now)
    bump = {"strikes": EndUserRow.strikes + 1, "last_strike_at": now}
    return stmt.on_conflict_do_update(index_elements=[EndUserRow.id], set_=bump).returning(
        EndUserRow.strikes
    )


async def _position(session: AsyncSession, row: JobRow) -> int:
    ahead = or_(
        JobRow.priority > row.priority,
        and_(JobRow.priority == row.priority, JobRow.created_at < row.created_at),
    )
    stmt = select(func.count()).select_from(JobRow).where(JobRow.state == QUEUED, ahead)
    return int((await session.execute(stmt)).scalar_one()) + 1


def _runnable_by(caps: Capabilities) -> list[ColumnElement[bool]]:
    """Filters: the worker's architectures, and its models when it lists any."""
    arch = or_(JobRow.architecture.is_(None), JobRow.architecture.in_(caps.architectures))
    models = [*caps.checkpoints_present, *caps.upscalers_present]
    if not models:
        return [arch]
    return [arch, JobRow.checkpoint.in_(models)]


def _claim_order(caps: Capabilities, terms: ClaimTerms) -> list[Any]:
    """Priority first; then jobs on a loaded checkpoint (or waiting too long); then age."""
    loaded_or_starving = or_(
        JobRow.checkpoint.in_(caps.checkpoints_loaded),
        JobRow.created_at < terms.now - terms.affinity_max_wait_s,
    )
    affinity = case((loaded_or_starving, 0), else_=1)
    return [JobRow.priority.desc(), affinity, JobRow.created_at.asc()]
