"""Fixtures for gpu_server tests: an in-process fake ComfyUI on loopback, client, executor."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import uvicorn
from PIL import Image

from common.protocol import ContentContext
from common.styles import StyleCatalog, load_styles
from gpu_server.comfy_client import ComfyClient
from gpu_server.executor import Executor
from gpu_server.fake_comfyui.app import FakeComfyUI
from gpu_server.fake_comfyui.config import FakeConfig
from gpu_server.safety.base import Verdict
from gpu_server.workflows import TemplateSet, load_templates
from tests.support.procs import free_port

REPO = Path(__file__).resolve().parents[2]


@dataclass
class RecordingGuard:
    """Test guard: records what it saw; blocks inputs/outputs whose bytes it was told to block."""

    block_inputs: bool = False
    block_output_indexes: set[int] = field(default_factory=set)
    inputs: list[bytes] = field(default_factory=list)
    outputs: list[bytes] = field(default_factory=list)

    async def check_input(self, image: bytes, ctx: ContentContext, *, job_id: str = "") -> Verdict:
        self.inputs.append(image)
        return Verdict(blocked=self.block_inputs, category="nudity" if self.block_inputs else "ok")

    async def check_output(self, image: bytes, ctx: ContentContext, *, job_id: str = "") -> Verdict:
        index = len(self.outputs)
        self.outputs.append(image)
        blocked = index in self.block_output_indexes
        return Verdict(blocked=blocked, category="nudity" if blocked else "ok")


def png_bytes(
    width: int = 96, height: int = 80, color: tuple[int, int, int] = (200, 40, 40)
) -> bytes:
    """A small real PNG."""
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, format="PNG")
    return out.getvalue()


@pytest.fixture(scope="session")
def catalog() -> StyleCatalog:
    return load_styles()


@pytest.fixture(scope="session")
def templates() -> TemplateSet:
    return load_templates(REPO / "workflows")


@pytest.fixture
async def fake(tmp_path: Path) -> AsyncIterator[FakeComfyUI]:
    server = FakeComfyUI(FakeConfig(output_dir=tmp_path / "out", input_dir=tmp_path / "in"))
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=httpx.Timeout(10.0, connect=2.0)) as client:
        yield client


@pytest.fixture
async def comfy(fake: FakeComfyUI, http: httpx.AsyncClient) -> AsyncIterator[ComfyClient]:
    client = ComfyClient(http, fake.url, poll_interval=0.5)
    client.start()
    await client.events.connected.wait()
    yield client
    await client.close()


@pytest.fixture
def guard() -> RecordingGuard:
    return RecordingGuard()


@pytest.fixture
def executor(comfy, templates, catalog, guard) -> Executor:
    return Executor(comfy, templates, catalog, guard)


@asynccontextmanager
async def serve(app) -> AsyncIterator[str]:
    """Run an ASGI app with uvicorn on a free loopback port inside the test's event loop."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("uvicorn stopped before it started")
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
