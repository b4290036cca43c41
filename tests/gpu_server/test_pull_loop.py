"""The pull loop against a loopback backend stub that follows the worker protocol exactly."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import io
import itertools

import pytest
from PIL import Image

from common.protocol import JobFailure, JobResult, JobSpec, Mode
from gpu_server.backend_client import BackendClient
from gpu_server.capabilities import Inventory
from gpu_server.pull_loop import PullLoop
from gpu_server.workflows.defaults import default_params

from .backend_stub import TOKEN, StubBackend


def job(catalog, job_id: str, style: str = "anime", **params) -> JobSpec:
    base = default_params(catalog.styles[style], seed=99).model_dump()
    return JobSpec(
        job_id=job_id, mode=Mode.FREE, style=style, prompt="a boat", params={**base, **params}
    )


@pytest.fixture
async def backend():
    stub = StubBackend()
    await stub.start()
    yield stub
    await stub.stop()


@contextlib.asynccontextmanager
async def running_loop(
    backend, executor, catalog, http, *, prefetch: int = 1, url: str | None = None
):
    client = BackendClient(http, url or backend.url, TOKEN, timeout_s=2.0)
    inventory = Inventory(executor.comfy, catalog, executor)
    loop = PullLoop(
        client,
        executor,
        inventory.capabilities,
        worker_id="w-test",
        prefetch=prefetch,
        lease_wait_s=0.3,
        progress_interval_s=0.2,
        backoff_max_s=0.8,
    )
    task = asyncio.create_task(loop.run())
    try:
        yield loop
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_lease_run_report_result(backend, executor, catalog, http, fake):
    """A leased job runs on ComfyUI; progress reports arrive; the result carries a PNG and seed."""
    fake.faults.step_time = 0.04
    await backend.jobs.put(job(catalog, "j1", steps=20))
    loaded = ["Counterfeit-V3.0_fp16.safetensors"]
    async with running_loop(backend, executor, catalog, http):
        await backend.wait_done(1)
        for _ in range(200):  # the next lease request tells which checkpoint is loaded now
            if backend.lease_requests[-1][1].capabilities.checkpoints_loaded == loaded:
                break
            await asyncio.sleep(0.02)
    result = backend.done["j1"]
    assert isinstance(result, JobResult)
    assert result.lease_id == backend.current_lease["j1"]
    assert result.seed == 99
    with Image.open(io.BytesIO(base64.b64decode(result.images[0].data_b64))) as image:
        assert image.format == "PNG"
        assert image.size == (512, 768)
    reports = [r for job_id, r in backend.progress if job_id == "j1"]
    assert reports[0].stage == "submitted"
    assert any(r.stage == "running" and r.total_steps == 20 and r.step > 0 for r in reports)
    caps = backend.lease_requests[0][1].capabilities
    assert "Counterfeit-V3.0_fp16.safetensors" in caps.checkpoints_present
    assert set(caps.architectures) == {"sdxl", "sd15"}
    assert caps.checkpoints_loaded == []
    assert backend.lease_requests[-1][1].capabilities.checkpoints_loaded == loaded


async def test_cancel_from_progress_answer_interrupts(backend, executor, catalog, http, fake):
    """A progress answer with cancel: true interrupts that prompt; the failure says cancelled."""
    fake.faults.step_time = 0.05
    await backend.jobs.put(job(catalog, "j-cancel", steps=50))
    async with running_loop(backend, executor, catalog, http):
        while not any(r.stage == "running" for _, r in backend.progress):
            await asyncio.sleep(0.01)
        backend.cancel.add("j-cancel")
        await backend.wait_done(1)
    failure = backend.done["j-cancel"]
    assert isinstance(failure, JobFailure)
    assert failure.error_code == "cancelled"
    for _ in range(100):  # the interrupt takes effect at ComfyUI's next sampler step
        if fake.history:
            break
        await asyncio.sleep(0.02)
    entry = next(iter(fake.history.values()))
    assert entry["status"]["status_str"] == "error"  # interrupted, not run to the end


async def test_result_retried_after_backend_error_is_idempotent(backend, executor, catalog, http):
    """A result post that fails with 503 is retried with the same lease and body, once accepted."""
    backend.fail_next_results = 2
    await backend.jobs.put(job(catalog, "j-retry"))
    async with running_loop(backend, executor, catalog, http):
        await backend.wait_done(1)
        await asyncio.sleep(0.3)
    posts = [r for job_id, r in backend.results if job_id == "j-retry"]
    assert len(posts) == 3
    assert len({p.model_dump_json() for p in posts}) == 1
    assert len(backend.done) == 1


async def test_execution_failure_is_reported(backend, executor, catalog, http, fake):
    """An out-of-memory run is reported as a retryable out_of_memory failure."""
    fake.faults.error = "oom"
    await backend.jobs.put(job(catalog, "j-oom"))
    async with running_loop(backend, executor, catalog, http):
        await backend.wait_done(1)
    failure = backend.done["j-oom"]
    assert isinstance(failure, JobFailure)
    assert failure.error_code == "out_of_memory"
    assert failure.retryable is True


async def test_backs_off_while_backend_is_down_then_recovers(executor, catalog, http):
    """With the backend down the loop retries with growing gaps, then works once it is back."""
    stub = StubBackend()
    url = await stub.start()
    port = int(url.rsplit(":", 1)[1])
    await stub.stop()
    attempts: list[float] = []

    async def record(request):
        if request.url.path == "/worker/lease":
            attempts.append(asyncio.get_running_loop().time())

    http.event_hooks["request"].append(record)
    async with running_loop(stub, executor, catalog, http, url=url):
        await asyncio.sleep(1.6)
        gaps = [b - a for a, b in itertools.pairwise(attempts)]
        assert len(attempts) >= 3
        assert gaps[-1] > gaps[0]  # exponential backoff, not a busy loop
        await stub.start(port)
        await stub.jobs.put(job(catalog, "j-after"))
        await stub.wait_done(1)
    await stub.stop()
    assert isinstance(stub.done["j-after"], JobResult)


async def test_prefetch_keeps_two_prompts_in_comfyui(backend, executor, catalog, http, fake):
    """With prefetch 1 the next job waits in ComfyUI's queue while the current one runs."""
    fake.faults.step_time = 0.02
    for index in range(3):
        await backend.jobs.put(job(catalog, f"p{index}", steps=20, seed=index))
    seen_pending = 0
    async with running_loop(backend, executor, catalog, http, prefetch=1):
        while len(backend.done) < 3:
            queue = fake.state.queue.snapshot()
            if queue["queue_running"] and queue["queue_pending"]:
                seen_pending = max(seen_pending, len(queue["queue_pending"]))
            await asyncio.sleep(0.01)
    assert seen_pending == 1  # one ahead, never more
    assert all(isinstance(outcome, JobResult) for outcome in backend.done.values())


async def test_no_prefetch_never_queues_ahead(backend, executor, catalog, http, fake):
    """With prefetch 0 ComfyUI never holds a pending prompt of ours."""
    fake.faults.step_time = 0.01
    for index in range(2):
        await backend.jobs.put(job(catalog, f"n{index}", steps=20, seed=index))
    async with running_loop(backend, executor, catalog, http, prefetch=0):
        while len(backend.done) < 2:
            assert not fake.state.queue.snapshot()["queue_pending"]
            await asyncio.sleep(0.01)


async def test_cancel_while_pending_removes_it_from_comfyui(backend, executor, catalog, http, fake):
    """A cancel that arrives while the prompt still waits in ComfyUI's queue deletes it there."""
    fake.faults.step_time = 0.05
    await backend.jobs.put(job(catalog, "first", steps=30))
    await backend.jobs.put(job(catalog, "second", steps=30, seed=2))
    async with running_loop(backend, executor, catalog, http, prefetch=1):
        while not fake.state.queue.snapshot()["queue_pending"]:
            await asyncio.sleep(0.01)
        backend.cancel.add("second")
        await backend.wait_done(2)
    assert isinstance(backend.done["first"], JobResult)
    assert backend.done["second"].error_code == "cancelled"
    assert len(fake.history) == 1  # the second prompt never ran


async def test_stale_lease_stops_the_job_without_a_result(backend, executor, catalog, http, fake):
    """A stale lease (409) stops the prompt in ComfyUI and nothing is posted for it."""
    fake.faults.step_time = 0.05
    await backend.jobs.put(job(catalog, "j-stale", steps=60))
    async with running_loop(backend, executor, catalog, http):
        while "j-stale" not in backend.current_lease:
            await asyncio.sleep(0.01)
        backend.current_lease["j-stale"] = "someone-else"
        for _ in range(200):
            if fake.history:
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.2)
    assert backend.done == {}
    assert next(iter(fake.history.values()))["status"]["status_str"] == "error"


async def test_comfyui_down_fails_jobs_clearly_and_slowly(backend, executor, catalog, http, fake):
    """With ComfyUI down a leased job fails as retryable comfy_unavailable; leases then back off."""
    fake.faults.down = True
    await fake.state.hub.close_all()
    for index in range(6):
        await backend.jobs.put(job(catalog, f"down{index}", seed=index))
    async with running_loop(backend, executor, catalog, http, prefetch=0):
        await backend.wait_done(1)
        await asyncio.sleep(1.0)
    failures = list(backend.done.values())
    assert all(isinstance(f, JobFailure) for f in failures)
    assert {f.error_code for f in failures} == {"comfy_unavailable"}
    assert all(f.retryable for f in failures)
    assert len(failures) <= 3  # backing off, not draining the queue
    assert backend.jobs.qsize() >= 3


async def test_comfyui_back_after_outage_resumes_work(backend, executor, catalog, http, fake):
    """After ComfyUI comes back, the loop runs jobs again."""
    fake.faults.down = True
    await backend.jobs.put(job(catalog, "before"))
    async with running_loop(backend, executor, catalog, http, prefetch=0):
        await backend.wait_done(1)
        fake.faults.down = False
        await backend.jobs.put(job(catalog, "after"))
        await backend.wait_done(2)
    assert isinstance(backend.done["after"], JobResult)


async def test_shutdown_hands_running_job_back(backend, executor, catalog, http, fake):
    """Stopping the loop mid-job interrupts the prompt and reports a retryable worker_lost."""
    fake.faults.step_time = 0.05
    await backend.jobs.put(job(catalog, "j-shutdown", steps=60))
    async with running_loop(backend, executor, catalog, http):
        while not any(r.stage == "running" for _, r in backend.progress):
            await asyncio.sleep(0.01)
    failure = backend.done["j-shutdown"]
    assert isinstance(failure, JobFailure)
    assert failure.error_code == "worker_lost"
    assert failure.retryable is True
    for _ in range(100):
        if fake.history:
            break
        await asyncio.sleep(0.02)
    assert next(iter(fake.history.values()))["status"]["status_str"] == "error"
