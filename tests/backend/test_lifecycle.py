"""Job lifecycle over real HTTP: queue, lease, progress, result, failure, cancel, expiry."""

from __future__ import annotations

import asyncio
import base64
import io
import json

import httpx
from PIL import Image

from tests.backend.conftest import (
    SD15,
    SDXL,
    UPSCALER,
    RunningBackend,
    Worker,
    free_body,
    make_settings,
    png_b64,
    serve,
)

# every test here runs on SQLite and on a throwaway PostgreSQL cluster
BOTH_DATABASES = True


async def test_task_runs_from_queue_to_done(client: httpx.AsyncClient, worker: Worker) -> None:
    """A queued task is leased with resolved params, shows progress, and ends done with images."""
    created = await client.post("/tasks", json=free_body(steps=25, seed=42, batch_size=2))
    assert created.status_code == 202
    task_id = created.json()["task_id"]
    assert created.json()["status"] == "queued"
    assert created.json()["queue_position"] == 1
    lease = await worker.lease()
    assert lease is not None
    assert lease["job"]["job_id"] == task_id
    params = lease["job"]["params"]
    assert (params["steps"], params["seed"], params["batch_size"]) == (25, 42, 2)
    assert (params["sampler"], params["width"]) == ("dpmpp_2m", 1024)
    assert (await worker.progress(lease, 5, 25)).json()["cancel"] is False
    running = (await client.get(f"/tasks/{task_id}")).json()
    assert running["status"] == "running"
    assert running["progress"] == {"step": 5, "total": 25}
    assert (await worker.result(lease, count=2, seed=42)).status_code == 200
    done = (await client.get(f"/tasks/{task_id}")).json()
    assert (done["status"], done["image_count"], done["seed"]) == ("done", 2, 42)
    image = await client.get(f"/tasks/{task_id}/image", params={"index": 1, "format": "webp"})
    assert image.headers["content-type"] == "image/webp"
    assert Image.open(io.BytesIO(image.content)).size == (65, 64)


async def test_other_clients_cannot_see_a_task(
    backend: RunningBackend, client: httpx.AsyncClient
) -> None:
    """A task is visible only to the API key that created it."""
    task_id = (await client.post("/tasks", json=free_body())).json()["task_id"]
    async with httpx.AsyncClient(base_url=backend.url, headers={"X-API-Key": "bot-key-2"}) as other:
        answer = await other.get(f"/tasks/{task_id}")
    assert answer.status_code == 404
    assert answer.json()["error_code"] == "not_found"


async def test_lease_prefers_loaded_checkpoint(
    client: httpx.AsyncClient, backend: RunningBackend
) -> None:
    """Among equal-priority jobs the one whose checkpoint is loaded goes first, even if newer."""
    older = (await client.post("/tasks", json=free_body())).json()["task_id"]
    newer = (await client.post("/tasks", json={**free_body(), "style": "anime"})).json()["task_id"]
    w = Worker(backend.url, checkpoints_loaded=[SD15])
    try:
        first = await w.lease()
        second = await w.lease()
    finally:
        await w.close()
    assert first is not None
    assert second is not None
    assert [first["job"]["job_id"], second["job"]["job_id"]] == [newer, older]


async def test_sync_jobs_go_before_older_async_jobs(
    client: httpx.AsyncClient, worker: Worker
) -> None:
    """POST /generate jobs carry a higher priority than queued POST /tasks jobs."""
    queued = (await client.post("/tasks", json=free_body())).json()["task_id"]
    sync = asyncio.create_task(client.post("/generate", json=free_body("a red boat")))
    await asyncio.sleep(0.3)
    lease = await worker.lease()
    assert lease is not None
    assert lease["job"]["prompt"] == "a red boat"
    await worker.result(lease)
    answer = (await sync).json()
    assert answer["status"] == "done"
    assert answer["image"]
    second = await worker.lease()
    assert second is not None
    assert second["job"]["job_id"] == queued


async def test_lease_respects_capabilities(
    client: httpx.AsyncClient, backend: RunningBackend
) -> None:
    """A worker only gets jobs for its architectures and the models it has."""
    await client.post("/tasks", json={**free_body(), "style": "anime"})
    sdxl_only = Worker(
        backend.url, "sdxl-worker", architectures=["sdxl"], checkpoints_present=[SDXL]
    )
    has_sd15 = Worker(
        backend.url, "sd15-worker", architectures=["sd15"], checkpoints_present=[SD15]
    )
    try:
        assert await sdxl_only.lease(wait_s=0.3) is None
        lease = await has_sd15.lease(wait_s=0.3)
        assert lease is not None
        assert lease["job"]["style"] == "anime"
    finally:
        await sdxl_only.close()
        await has_sd15.close()


async def test_upscale_needs_the_upscaler(
    client: httpx.AsyncClient, backend: RunningBackend
) -> None:
    """An upscale job goes only to a worker that lists the upscale model."""
    body = {"mode": "upscale", "target_image": png_b64(128, 96)}
    created = await client.post("/tasks", json=body)
    assert created.status_code == 202, created.text
    without = Worker(backend.url, "a", checkpoints_present=[SDXL])
    with_up = Worker(backend.url, "b", checkpoints_present=[SDXL], upscalers_present=[UPSCALER])
    try:
        assert await without.lease(wait_s=0.2) is None
        lease = await with_up.lease(wait_s=0.2)
        assert lease is not None
        assert (lease["job"]["params"]["width"], lease["job"]["params"]["height"]) == (128, 96)
        assert base64.b64decode(lease["job"]["images"]["target"])[:8] == b"\x89PNG\r\n\x1a\n"
    finally:
        await without.close()
        await with_up.close()


async def test_long_poll_wakes_on_enqueue(client: httpx.AsyncClient, worker: Worker) -> None:
    """A waiting lease call returns as soon as a job is queued, not at its timeout."""
    waiting = asyncio.create_task(worker.lease(wait_s=10))
    await asyncio.sleep(0.2)
    loop = asyncio.get_running_loop()
    start = loop.time()
    await client.post("/tasks", json=free_body())
    lease = await waiting
    assert lease is not None
    assert loop.time() - start < 0.5


async def test_result_is_idempotent_and_stale_lease_rejected(
    client: httpx.AsyncClient, worker: Worker
) -> None:
    """Repeating a result under the same lease is a no-op; a made-up lease gets 409 lease_stale."""
    task_id = (await client.post("/tasks", json=free_body())).json()["task_id"]
    lease = await worker.lease()
    assert lease is not None
    assert (await worker.result(lease, seed=1)).status_code == 200
    assert (await worker.result(lease, count=3, seed=2)).status_code == 200
    view = (await client.get(f"/tasks/{task_id}")).json()
    assert (view["image_count"], view["seed"]) == (1, 1)
    stale = await worker.result({**lease, "lease_id": "0" * 24})
    assert stale.status_code == 409
    assert stale.json()["error_code"] == "lease_stale"
    assert (await worker.progress({**lease, "lease_id": "1" * 24}, 1)).status_code == 409


async def test_lease_expiry_requeues_then_fails(tmp_path, db_url: str | None) -> None:
    """An unrenewed lease puts the job back; after max attempts it fails with worker_lost."""
    settings = make_settings(
        tmp_path, database_url=db_url, lease_ttl_s=0.3, max_attempts=2, reaper_interval_s=0.1
    )
    async with serve(settings) as backend:
        w = Worker(backend.url)
        async with httpx.AsyncClient(
            base_url=backend.url, headers={"X-API-Key": "test-key-1"}
        ) as c:
            task_id = (await c.post("/tasks", json=free_body())).json()["task_id"]
            first = await w.lease()
            second = await w.lease(wait_s=3)
            assert first is not None
            assert second is not None
            assert (second["attempt"], second["job"]["job_id"]) == (2, task_id)
            late = await w.result(first)
            assert late.status_code == 409
            await asyncio.sleep(0.8)
            view = (await c.get(f"/tasks/{task_id}")).json()
        await w.close()
    assert view["status"] == "failed"
    assert view["error_code"] == "worker_lost"
    assert "2 attempts" in view["error"]


async def test_retryable_failure_requeues_while_attempts_remain(
    client: httpx.AsyncClient, worker: Worker
) -> None:
    """A retryable failure goes back to the queue; the last attempt's failure is final."""
    task_id = (await client.post("/tasks", json=free_body())).json()["task_id"]
    for attempt in (1, 2, 3):
        lease = await worker.lease()
        assert lease is not None
        assert lease["attempt"] == attempt
        assert (await worker.failure(lease, "comfy_unavailable", retryable=True)).status_code == 200
        assert (await worker.failure(lease, "comfy_unavailable", retryable=True)).status_code == 200
    view = (await client.get(f"/tasks/{task_id}")).json()
    assert (view["status"], view["error_code"]) == ("failed", "comfy_unavailable")
    assert await worker.lease(wait_s=0.1) is None


async def test_cancel_queued_task_never_runs(client: httpx.AsyncClient, worker: Worker) -> None:
    """A cancelled queued task is never leased; a second cancel is 409 task_finished."""
    task_id = (await client.post("/tasks", json=free_body())).json()["task_id"]
    cancelled = await client.delete(f"/tasks/{task_id}")
    assert cancelled.json()["status"] == "cancelled"
    assert await worker.lease(wait_s=0.2) is None
    again = await client.delete(f"/tasks/{task_id}")
    assert again.status_code == 409
    assert again.json()["error_code"] == "task_finished"


async def test_cancel_running_task_tells_the_worker(
    client: httpx.AsyncClient, worker: Worker
) -> None:
    """After cancel, the next progress report answers cancel=true; the result is dropped."""
    task_id = (await client.post("/tasks", json=free_body())).json()["task_id"]
    lease = await worker.lease()
    assert lease is not None
    await client.delete(f"/tasks/{task_id}")
    assert (await worker.progress(lease, 3)).json()["cancel"] is True
    assert (await worker.result(lease)).status_code == 200
    view = (await client.get(f"/tasks/{task_id}")).json()
    assert (view["status"], view["image_count"]) == ("cancelled", 0)
    image = await client.get(f"/tasks/{task_id}/image")
    assert image.status_code == 409
    assert image.json()["error_code"] == "task_not_finished"


async def _events(client: httpx.AsyncClient, task_id: str, out: list[tuple[str, dict]]) -> None:
    async with client.stream("GET", f"/tasks/{task_id}/events") as stream:
        event = ""
        async for line in stream.aiter_lines():
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: "):
                out.append((event, json.loads(line[6:])))


async def test_event_stream_reports_queue_progress_and_done(
    client: httpx.AsyncClient, worker: Worker
) -> None:
    """SSE sends queued {position}, running {step,total} and a final done, then ends."""
    task_id = (await client.post("/tasks", json=free_body())).json()["task_id"]
    events: list[tuple[str, dict]] = []
    reader = asyncio.create_task(_events(client, task_id, events))
    await asyncio.sleep(0.3)
    lease = await worker.lease()
    assert lease is not None
    for step in (1, 2):
        await worker.progress(lease, step, 20)
        await asyncio.sleep(0.15)
    await worker.result(lease)
    await asyncio.wait_for(reader, 5)
    names = [name for name, _ in events]
    assert events[0] == ("queued", {"position": 1})
    assert ("running", {"step": 2, "total": 20}) in events
    assert names[-1] == "done"
    assert events[-1][1]["status"] == "done"
    assert names.count("done") == 1


async def test_sync_generate_answers_processing_then_completes(
    tmp_path, db_url: str | None
) -> None:
    """When REQUEST_TIMEOUT passes first, /generate answers processing; the task completes later."""
    async with serve(make_settings(tmp_path, database_url=db_url, request_timeout=0.5)) as backend:
        w = Worker(backend.url)
        async with httpx.AsyncClient(
            base_url=backend.url, headers={"X-API-Key": "test-key-1"}
        ) as c:
            answer = (await c.post("/generate", json=free_body())).json()
            assert answer["status"] == "processing"
            assert answer["image"] is None
            lease = await w.lease()
            assert lease is not None
            assert lease["job"]["job_id"] == answer["task_id"]
            await w.result(lease)
            view = (await c.get(f"/tasks/{answer['task_id']}")).json()
        await w.close()
    assert view["status"] == "done"


async def test_sync_generate_returns_every_image_of_a_batch(
    client: httpx.AsyncClient, worker: Worker
) -> None:
    """batch_size > 1 fills `images`, and `image` is the first of them."""

    async def serve_one() -> None:
        lease = await worker.lease(wait_s=5)
        assert lease is not None
        await worker.result(lease, count=3)

    helper = asyncio.create_task(serve_one())
    answer = (await client.post("/generate", json=free_body(batch_size=3))).json()
    await helper
    assert answer["status"] == "done"
    assert len(answer["images"]) == 3
    assert answer["image"] == answer["images"][0]


async def test_queued_jobs_expire_after_their_deadline(tmp_path, db_url: str | None) -> None:
    """A job that waits past QUEUE_DEADLINE ends expired with error_code expired."""
    settings = make_settings(
        tmp_path, database_url=db_url, queue_deadline_s=0.2, reaper_interval_s=0.1
    )
    async with (
        serve(settings) as backend,
        httpx.AsyncClient(base_url=backend.url, headers={"X-API-Key": "test-key-1"}) as c,
    ):
        task_id = (await c.post("/tasks", json=free_body())).json()["task_id"]
        await asyncio.sleep(0.6)
        view = (await c.get(f"/tasks/{task_id}")).json()
    assert (view["status"], view["error_code"]) == ("expired", "expired")


async def test_retention_sweep_deletes_jobs_and_files(tmp_path, db_url: str | None) -> None:
    """After the retention period a finished job, its input photo and its results are gone."""
    settings = make_settings(
        tmp_path, database_url=db_url, result_retention_s=0.2, retention_interval_s=0.2
    )
    async with serve(settings) as backend:
        w = Worker(backend.url)
        async with httpx.AsyncClient(
            base_url=backend.url, headers={"X-API-Key": "test-key-1"}
        ) as c:
            body = {"mode": "restyle", "style": "anime", "target_image": png_b64(100, 100)}
            task_id = (await c.post("/tasks", json=body)).json()["task_id"]
            lease = await w.lease()
            assert lease is not None
            await w.result(lease)
            assert (tmp_path / "inputs" / task_id).is_dir()
            assert any((tmp_path / "results" / task_id).iterdir())
            await asyncio.sleep(0.8)
            gone = await c.get(f"/tasks/{task_id}")
        await w.close()
    assert gone.status_code == 404
    assert not (tmp_path / "inputs" / task_id).exists()
    assert not (tmp_path / "results" / task_id).exists()


async def test_event_stream_client_hanging_up_leaves_the_backend_healthy(
    tmp_path, db_url: str | None
) -> None:
    """Streams closed by their clients mid-wait leave the store usable and shutdown clean."""
    async with serve(make_settings(tmp_path, database_url=db_url)) as backend:
        headers = {"X-API-Key": "test-key-1"}
        async with httpx.AsyncClient(base_url=backend.url, headers=headers) as c:
            task_id = (await c.post("/tasks", json=free_body())).json()["task_id"]
            for _ in range(5):
                async with c.stream("GET", f"/tasks/{task_id}/events") as stream:
                    async for line in stream.aiter_lines():
                        if line.startswith("data: "):
                            break
            view = await c.get(f"/tasks/{task_id}")
            health = await c.get("/health")
    assert view.json()["status"] == "queued"
    assert health.json()["store"] == "ok"


async def test_affinity_yields_to_jobs_waiting_too_long(tmp_path, db_url: str | None) -> None:
    """Past AFFINITY_MAX_WAIT_S the oldest job goes first even on a worker with another model."""
    async with serve(
        make_settings(tmp_path, database_url=db_url, affinity_max_wait_s=0.2)
    ) as backend:
        headers = {"X-API-Key": "test-key-1"}
        async with httpx.AsyncClient(base_url=backend.url, headers=headers) as c:
            older = (await c.post("/tasks", json=free_body())).json()["task_id"]
            await asyncio.sleep(0.4)
            await c.post("/tasks", json={**free_body(), "style": "anime"})
        w = Worker(backend.url, checkpoints_loaded=[SD15])
        lease = await w.lease()
        await w.close()
    assert lease is not None
    assert lease["job"]["job_id"] == older
