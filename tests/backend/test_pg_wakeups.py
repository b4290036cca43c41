"""Wake-ups between backend replicas on PostgreSQL (LISTEN/NOTIFY on genpod_jobs)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import asyncpg
import httpx

from backend.store.listen import APPLICATION_NAME, asyncpg_dsn
from tests.backend.conftest import API_KEY, Worker, free_body, make_settings, serve
from tests.support.pg import PgCluster

RECHECK_S = 30.0  # the periodic re-check made long: only a NOTIFY can wake B in time
WAKE_WITHIN_S = 0.3


async def _leased_after_submit(a_url: str, worker: Worker, prompt: str) -> float:
    """Long-poll B, submit on A; seconds from A's answer to B's lease (the job must match)."""
    async with httpx.AsyncClient(base_url=a_url, headers={"X-API-Key": API_KEY}) as client:
        polling = asyncio.create_task(worker.lease(wait_s=10))
        await asyncio.sleep(0.3)  # the lease call is waiting on B before A gets the task
        created = await client.post("/tasks", json=free_body(prompt))
        submitted = time.monotonic()
        lease = await asyncio.wait_for(polling, 12)
        waited = time.monotonic() - submitted
    assert lease is not None
    assert lease["job"]["job_id"] == created.json()["task_id"]
    return waited


async def _listeners(dsn: str) -> list[int]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE application_name = $1", APPLICATION_NAME
        )
        return [row["pid"] for row in rows]
    finally:
        await conn.close()


async def test_a_job_queued_on_one_replica_wakes_the_other_at_once(
    pg_cluster: PgCluster, tmp_path: Path
) -> None:
    """With the periodic re-check at 30 s, a worker long-polling replica B gets the task
    submitted on replica A within 300 ms, each of three times: A's NOTIFY woke B."""
    db = pg_cluster.create_database("wakeups")
    shared = tmp_path / "shared"
    settings = make_settings(shared, database_url=db, lease_recheck_s=RECHECK_S)
    async with serve(settings) as a, serve(settings) as b:
        worker = Worker(b.url, worker_id="w-b")
        try:
            waits = [await _leased_after_submit(a.url, worker, f"tide {n}") for n in range(3)]
        finally:
            await worker.close()
    assert max(waits) < WAKE_WITHIN_S, waits


async def test_listen_connection_comes_back_after_the_server_drops_it(
    pg_cluster: PgCluster, tmp_path: Path
) -> None:
    """The server terminates both replicas' LISTEN connections: each reconnects, and a task
    submitted on A afterwards still wakes a worker waiting on B within 300 ms."""
    db = pg_cluster.create_database("wakeups_reconnect")
    dsn = asyncpg_dsn(db)
    settings = make_settings(tmp_path / "shared", database_url=db, lease_recheck_s=RECHECK_S)
    async with serve(settings) as a, serve(settings) as b:
        before = await _listeners(dsn)
        assert len(before) == 2
        admin = await asyncpg.connect(dsn)
        try:
            for pid in before:
                await admin.execute("SELECT pg_terminate_backend($1)", pid)
        finally:
            await admin.close()
        after: list[int] = []
        for _ in range(100):
            after = await _listeners(dsn)
            if len(after) == 2 and not set(after) & set(before):
                break
            await asyncio.sleep(0.05)
        assert len(after) == 2, (before, after)
        assert not set(after) & set(before), (before, after)
        worker = Worker(b.url, worker_id="w-b")
        try:
            waited = await _leased_after_submit(a.url, worker, "a second tide")
        finally:
            await worker.close()
    assert waited < WAKE_WITHIN_S, waited
