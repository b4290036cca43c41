"""The job store on a real PostgreSQL cluster: migrations, concurrent claims, a real process."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select, text
from sqlalchemy.engine import Connection

from backend.store.engine import create_engine, migrate
from backend.store.jobs import ClaimTerms, JobStore
from backend.store.models import Base, JobRow
from common.protocol import Capabilities
from tests.backend.conftest import (
    API_KEY,
    WORKER_TOKEN,
    Worker,
    free_body,
    make_settings,
    png_b64,
    serve,
)
from tests.support.pg import PgCluster
from tests.support.procs import REPO, free_port, service

WORKERS = 8
JOBS = 20
REPLICAS = 3

# one replica's start-up migration, held at a barrier: "ready" once connected, runs on "go"
MIGRATE_AT_GO = """
import asyncio, sys
from backend.store.engine import create_engine, migrate
async def main():
    engine = create_engine(sys.argv[1])
    async with engine.connect():
        pass
    print("ready", flush=True)
    sys.stdin.readline()
    await migrate(engine)
    await engine.dispose()
asyncio.run(main())
"""


def _diff(conn: Connection) -> list[object]:
    return list(compare_metadata(MigrationContext.configure(conn), Base.metadata))


async def test_migrations_on_postgresql_match_the_models(pg_cluster: PgCluster) -> None:
    """`alembic upgrade head` on PostgreSQL builds exactly the models' schema; again, a no-op."""
    engine = create_engine(pg_cluster.create_database("migrate_twice"))
    try:
        await migrate(engine)
        await migrate(engine)
        async with engine.connect() as conn:
            assert await conn.run_sync(_diff) == []
            version = (await conn.execute(text("SELECT version_num FROM alembic_version"))).all()
        assert len(version) == 1
    finally:
        await engine.dispose()


def test_replicas_migrating_at_once_all_start(pg_cluster: PgCluster) -> None:
    """Three processes run the start-up migration on a fresh database at the same moment:
    all succeed (they take turns under an advisory lock) and the schema is at head once."""
    db = pg_cluster.create_database("migrate_together")
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", MIGRATE_AT_GO, db],
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(REPLICAS)
    ]
    for proc in procs:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    outputs = [proc.communicate(timeout=60)[0] for proc in procs]
    assert [proc.returncode for proc in procs] == [0] * REPLICAS, outputs


def _job(n: int, now: float) -> JobRow:
    return JobRow(
        id=uuid.uuid4().hex,
        state="queued",
        mode="free",
        style="realism",
        architecture="sdxl",
        checkpoint="sd_xl_base_1.0.safetensors",
        priority=0,
        owner="tester",
        spec={"n": n},
        input_refs={},
        seed=n,
        created_at=now + n * 0.001,
        deadline_at=now + 600,
    )


async def _claim_all(store: JobStore, worker: str, now: float) -> list[str]:
    """Claim until the queue is empty for this worker; the ids it got."""
    caps = Capabilities(architectures=["sdxl"])
    got: list[str] = []
    while True:
        terms = ClaimTerms(uuid.uuid4().hex, worker, now, 30.0, 20.0)
        row = await store.claim(caps, terms)
        if row is None:
            return got
        got.append(row.id)


async def test_concurrent_claims_never_share_a_job(pg_cluster: PgCluster) -> None:
    """8 workers claiming 20 jobs at once on separate connections: every job goes to exactly
    one worker, each exactly once (SKIP LOCKED skips rows another claim holds)."""
    engine = create_engine(pg_cluster.create_database("claims"))
    try:
        await migrate(engine)
        store = JobStore(engine)
        now = time.time()
        for n in range(JOBS):
            await store.insert(_job(n, now))
        claimed = await asyncio.gather(*(_claim_all(store, f"w{i}", now) for i in range(WORKERS)))
        flat = [job for got in claimed for job in got]
        assert len(flat) == JOBS
        assert len(set(flat)) == JOBS
        assert sum(1 for got in claimed if got) > 1  # the claims really ran side by side
        async with engine.connect() as conn:
            rows = (await conn.execute(select(JobRow.lease_worker, JobRow.attempts))).all()
        owner = {job: f"w{i}" for i, got in enumerate(claimed) for job in got}
        assert sorted(w for w, _ in rows) == sorted(owner.values())
        assert {a for _, a in rows} == {1}
    finally:
        await engine.dispose()


async def test_claim_skips_a_row_locked_by_another_transaction(pg_cluster: PgCluster) -> None:
    """While another transaction holds the oldest queued job's row lock, a claim does not wait
    for it: it takes the next job at once, and the held job stays queued."""
    engine = create_engine(pg_cluster.create_database("skip_locked"))
    try:
        await migrate(engine)
        store = JobStore(engine)
        now = time.time()
        first, second = _job(0, now), _job(1, now)
        await store.insert(first)
        await store.insert(second)
        async with engine.connect() as holder, holder.begin():
            lock = select(JobRow.id).where(JobRow.id == first.id).with_for_update()
            await holder.execute(lock)
            terms = ClaimTerms("lease-1", "w1", now, 30.0, 20.0)
            row = await asyncio.wait_for(
                store.claim(Capabilities(architectures=["sdxl"]), terms), 5
            )
            assert row is not None
            assert row.id == second.id
        held = await store.get(first.id)
        assert held is not None
        assert held.state == "queued"
    finally:
        await engine.dispose()


@pytest.mark.parametrize("database", ["sqlite", "postgresql"], indirect=True)
async def test_concurrent_first_strikes_all_count(db_url: str | None, tmp_path: Path) -> None:
    """Six policy strikes for a new end user at once: none fails on the primary key and the
    record ends at six (one upsert, not read-then-insert)."""
    engine = create_engine(db_url or f"sqlite+aiosqlite:///{tmp_path / 'strikes.sqlite3'}")
    try:
        await migrate(engine)
        store = JobStore(engine)
        totals = await asyncio.gather(*(store.add_strike("bot:42", time.time()) for _ in range(6)))
        assert sorted(totals) == [1, 2, 3, 4, 5, 6]
        row = await store.end_user("bot:42")
        assert row is not None
        assert row.strikes == 6
    finally:
        await engine.dispose()


async def test_two_replicas_share_one_postgresql_queue(
    pg_cluster: PgCluster, tmp_path: Path
) -> None:
    """Two backends on one database: a worker long-polling replica B gets the task submitted
    on replica A (woken by A's NOTIFY), and A reports it done."""
    db = pg_cluster.create_database("replicas")
    shared = tmp_path / "shared"  # results are files: replicas share the data dir
    async with (
        serve(make_settings(shared, database_url=db)) as a,
        serve(make_settings(shared, database_url=db)) as b,
    ):
        worker = Worker(b.url, worker_id="w-b")
        async with httpx.AsyncClient(base_url=a.url, headers={"X-API-Key": API_KEY}) as client:
            polling = asyncio.create_task(worker.lease(wait_s=5))
            await asyncio.sleep(0.3)  # the lease call is waiting on B before A gets the task
            created = await client.post("/tasks", json=free_body("a relay between replicas"))
            task_id = created.json()["task_id"]
            lease = await asyncio.wait_for(polling, 4)
            assert lease is not None
            assert lease["job"]["job_id"] == task_id
            assert (await worker.result(lease)).status_code == 200
            done = (await client.get(f"/tasks/{task_id}")).json()
            assert done["status"] == "done"
            image = await client.get(f"/tasks/{task_id}/image")
            assert image.status_code == 200
        await worker.close()


def _one_job_through(url: str) -> dict[str, object]:
    """Submit a task, lease it as a worker, post a result; the finished task."""
    client = httpx.Client(base_url=url, headers={"X-API-Key": API_KEY}, timeout=30)
    worker = httpx.Client(
        base_url=url, headers={"Authorization": f"Bearer {WORKER_TOKEN}"}, timeout=30
    )
    with client, worker:
        task = client.post("/tasks", json=free_body("a harbour in fog"))
        assert task.status_code == 202, task.text
        caps = {"architectures": ["sdxl", "sd15"], "gpu_name": "test GPU"}
        lease = worker.post(
            "/worker/lease", json={"worker_id": "w-pg", "capabilities": caps, "wait_s": 5}
        ).json()
        image = {"data_b64": png_b64(64, 64), "format": "png", "width": 64, "height": 64}
        body = {"lease_id": lease["lease_id"], "images": [image], "seed": 3, "timings_ms": {}}
        posted = worker.post(f"/worker/jobs/{lease['job']['job_id']}/result", json=body)
        assert posted.status_code == 200, posted.text
        return dict(client.get(f"/tasks/{lease['job']['job_id']}").json())


def test_backend_process_on_postgresql(pg_cluster: PgCluster, tmp_path: Path) -> None:
    """`python -m backend` with DATABASE_URL on PostgreSQL migrates at start-up and runs a job
    to done; a second start on the same database finds the schema and keeps the job."""
    db = pg_cluster.create_database("process")
    port = free_port()
    env = {
        "BACKEND_HOST": "127.0.0.1",
        "BACKEND_PORT": str(port),
        "DATA_DIR": str(tmp_path / "data"),
        "DATABASE_URL": db,
        "API_KEYS": f"{API_KEY}:client",
        "WORKER_TOKEN": WORKER_TOKEN,
        "ENVIRONMENT": "test",
    }
    url = f"http://127.0.0.1:{port}"
    args = ["-m", "backend"]
    with service("backend", args, health_url=f"{url}/health", env=env, log_dir=tmp_path):
        done = _one_job_through(url)
    assert done["status"] == "done", done
    assert not (tmp_path / "data" / "genpod.sqlite3").exists()
    with service("backend2", args, health_url=f"{url}/health", env=env, log_dir=tmp_path) as svc:
        again = httpx.get(
            f"{url}/tasks/{done['task_id']}", headers={"X-API-Key": API_KEY}, timeout=10
        )
        assert again.json()["status"] == "done", again.text
        assert "Traceback" not in svc.log()
