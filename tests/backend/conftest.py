"""Backend test fixtures: the app on a real loopback port, a client, an in-test worker."""

from __future__ import annotations

import asyncio
import base64
import io
import itertools
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from PIL import Image
from pydantic import SecretStr

from backend.app import create_app
from backend.serving import BackendServer
from backend.settings import BackendSettings
from tests.support.pg import PgCluster, postgres_cluster
from tests.support.procs import free_port

API_KEY = "test-key-1"
BOT_KEY = "bot-key-2"
WORKER_TOKEN = "worker-token-3"
SDXL = "sd_xl_base_1.0.safetensors"
SD15 = "Counterfeit-V3.0_fp16.safetensors"
UPSCALER = "RealESRGAN_x4plus.pth"


def png_b64(
    width: int = 96, height: int = 96, mode: str = "RGB", fmt: str = "PNG", **save: Any
) -> str:
    """A small valid image as base64."""
    color: Any = (200, 50, 50, 255)[: len(mode)] if mode in ("RGB", "RGBA", "CMYK") else 128
    image = Image.new(mode, (width, height), color)
    out = io.BytesIO()
    image.save(out, format=fmt, **save)
    return base64.b64encode(out.getvalue()).decode()


def make_settings(data_dir: Path, **overrides: Any) -> BackendSettings:
    """Settings for one test backend (no .env, tmp data dir)."""
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "api_keys": SecretStr(f"{API_KEY}:tester,{BOT_KEY}:bot"),
        "worker_token": SecretStr(WORKER_TOKEN),
        "reaper_interval_s": 0.2,
        "request_timeout": 10.0,
        **overrides,
    }
    return BackendSettings(_env_file=None, **values)  # type: ignore[call-arg]


@dataclass
class RunningBackend:
    """An app served by uvicorn on a loopback port, inside the test's event loop."""

    url: str
    settings: BackendSettings
    app: Any


@asynccontextmanager
async def serve(settings: BackendSettings) -> AsyncIterator[RunningBackend]:
    """Serve create_app(settings) on a free port until the block ends."""
    app = create_app(settings)
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = BackendServer(config, app)
    task = asyncio.create_task(server.serve())
    for _ in range(400):
        if server.started or task.done():
            break
        await asyncio.sleep(0.02)
    if not server.started:
        await task
        raise RuntimeError("backend did not start")
    try:
        yield RunningBackend(f"http://127.0.0.1:{port}", settings, app)
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 15)


_db_names = itertools.count(1)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Modules with `BOTH_DATABASES = True` run each test on SQLite and on PostgreSQL."""
    if "db_url" in metafunc.fixturenames and getattr(metafunc.module, "BOTH_DATABASES", False):
        metafunc.parametrize("database", ["sqlite", "postgresql"], indirect=True)


@pytest.fixture
def database(request: pytest.FixtureRequest) -> str:
    """Which database the test runs on (SQLite unless the module asks for both)."""
    return str(getattr(request, "param", "sqlite"))


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    """One throwaway PostgreSQL cluster for the session, started on first use."""
    with postgres_cluster() as cluster:
        yield cluster


@pytest.fixture
def db_url(database: str, request: pytest.FixtureRequest) -> str | None:
    """DATABASE_URL for one test: None (SQLite under the data dir) or a fresh PG database."""
    if database == "sqlite":
        return None
    cluster: PgCluster = request.getfixturevalue("pg_cluster")
    return cluster.create_database(f"t{next(_db_names)}")


@pytest.fixture
def settings(tmp_path: Path, db_url: str | None) -> BackendSettings:
    """Default test settings."""
    return make_settings(tmp_path, database_url=db_url)


@pytest.fixture
async def backend(settings: BackendSettings) -> AsyncIterator[RunningBackend]:
    """The backend on a real loopback port."""
    async with serve(settings) as running:
        yield running


@pytest.fixture
async def client(backend: RunningBackend) -> AsyncIterator[httpx.AsyncClient]:
    """A client with a valid API key."""
    async with httpx.AsyncClient(
        base_url=backend.url, headers={"X-API-Key": API_KEY}, timeout=30
    ) as c:
        yield c


class Worker:
    """An in-test worker that speaks the worker protocol over real HTTP."""

    def __init__(self, url: str, worker_id: str = "w1", **caps: Any) -> None:
        self.http = httpx.AsyncClient(
            base_url=url, headers={"Authorization": f"Bearer {WORKER_TOKEN}"}, timeout=30
        )
        self.worker_id = worker_id
        self.caps = {"architectures": ["sdxl", "sd15"], "gpu_name": "test GPU", **caps}

    async def lease(self, wait_s: float = 2.0) -> dict[str, Any] | None:
        """One lease call; None on 204."""
        body = {"worker_id": self.worker_id, "capabilities": self.caps, "wait_s": wait_s}
        answer = await self.http.post("/worker/lease", json=body)
        if answer.status_code == 204:
            return None
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    async def progress(self, lease: dict[str, Any], step: int, total: int = 20) -> httpx.Response:
        """Report progress under a lease."""
        body = {"lease_id": lease["lease_id"], "step": step, "total_steps": total}
        return await self.http.post(f"/worker/jobs/{lease['job']['job_id']}/progress", json=body)

    async def result(self, lease: dict[str, Any], count: int = 1, seed: int = 7) -> httpx.Response:
        """Submit `count` small PNG images under a lease."""
        images = [
            {"data_b64": png_b64(64 + i, 64), "format": "png", "width": 64 + i, "height": 64}
            for i in range(count)
        ]
        body = {
            "lease_id": lease["lease_id"],
            "images": images,
            "seed": seed,
            "timings_ms": {"exec": 5.0},
        }
        return await self.http.post(f"/worker/jobs/{lease['job']['job_id']}/result", json=body)

    async def failure(
        self, lease: dict[str, Any], code: str = "comfy_execution", retryable: bool = False
    ) -> httpx.Response:
        """Report a failure under a lease."""
        body = {
            "lease_id": lease["lease_id"],
            "error_code": code,
            "message": "it broke",
            "retryable": retryable,
        }
        return await self.http.post(f"/worker/jobs/{lease['job']['job_id']}/failure", json=body)

    async def close(self) -> None:
        """Close the HTTP client."""
        await self.http.aclose()


@pytest.fixture
async def worker(backend: RunningBackend) -> AsyncIterator[Worker]:
    """A worker that has every model."""
    w = Worker(backend.url)
    yield w
    await w.close()


def free_body(prompt: str = "a lighthouse at dusk", **extra: Any) -> dict[str, Any]:
    """A valid free-mode request body."""
    return {"mode": "free", "prompt": prompt, "style": "realism", "extra_params": extra}
