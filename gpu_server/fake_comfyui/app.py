"""The fake ComfyUI application (aiohttp) and an in-process handle for tests."""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from aiohttp import web

from gpu_server.fake_comfyui.config import FakeConfig, Faults
from gpu_server.fake_comfyui.files import Folders
from gpu_server.fake_comfyui.routes import add_routes
from gpu_server.fake_comfyui.state import MAX_UPLOAD, STATE, FakeState


def _folders(config: FakeConfig, scratch: Path) -> Folders:
    folders = Folders(
        output=config.output_dir or scratch / "output",
        input=config.input_dir or scratch / "input",
        temp=config.temp_dir or scratch / "temp",
    )
    for path in (folders.output, folders.input, folders.temp):
        path.mkdir(parents=True, exist_ok=True)
    return folders


def create_app(config: FakeConfig) -> web.Application:
    """Build the aiohttp app of a fake ComfyUI 0.3.64 (the genpod demo engine)."""
    app = web.Application(client_max_size=MAX_UPLOAD, middlewares=[_not_found, _down])
    scratch = tempfile.TemporaryDirectory(prefix="genpod-fake-comfyui-")
    app[STATE] = FakeState(config, _folders(config, Path(scratch.name)))
    add_routes(app)

    async def lifespan(app: web.Application) -> AsyncIterator[None]:
        runner = asyncio.create_task(app[STATE].run_forever())
        yield
        runner.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await runner
        scratch.cleanup()

    async def close_sockets(app: web.Application) -> None:
        # Open websockets would otherwise hold the shutdown until aiohttp's timeout.
        for ws in list(app[STATE].hub.sockets.values()):
            await ws.close(code=1001, message=b"server shutting down")

    app.cleanup_ctx.append(lifespan)
    app.on_shutdown.append(close_sockets)
    return app


@web.middleware
async def _not_found(request: web.Request, handler: Any) -> web.StreamResponse:
    """Unknown routes answer 404 with an empty octet-stream body, as ComfyUI does."""
    try:
        response: web.StreamResponse = await handler(request)
    except web.HTTPNotFound:
        return web.Response(status=404, body=b"", content_type="application/octet-stream")
    return response


@web.middleware
async def _down(request: web.Request, handler: Any) -> web.StreamResponse:
    """The 'down' fault: every ComfyUI route answers 503 while /fake/ stays reachable."""
    if request.app[STATE].faults.down and not request.path.startswith("/fake/"):
        return web.Response(status=503, text="fake ComfyUI is down (fault injected)")
    response: web.StreamResponse = await handler(request)
    return response


class FakeComfyUI:
    """An in-process fake ComfyUI on a loopback port, with its state open for tests."""

    def __init__(self, config: FakeConfig | None = None) -> None:
        self.config = config or FakeConfig()
        self.app = create_app(self.config)
        self.state = self.app[STATE]
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Start serving; returns the base URL (port 0 picks a free port)."""
        self._runner = web.AppRunner(self.app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        server: Any = site._server  # aiohttp keeps the bound sockets only here
        bound = server.sockets[0].getsockname()[1] if server else port
        self.url = f"http://{host}:{bound}"
        return self.url

    async def stop(self) -> None:
        """Stop serving and drop every socket."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def faults(self) -> Faults:
        """The faults to inject; change them at any time."""
        return self.state.faults

    @property
    def submitted(self) -> list[dict[str, Any]]:
        """Every POST /prompt body received, with its number and whether it was accepted."""
        return self.state.submitted

    @property
    def history(self) -> dict[str, dict[str, Any]]:
        """The history entries by prompt_id."""
        return self.state.queue.history

    @property
    def output_dir(self) -> Path:
        """Where output images are written."""
        return self.state.folders.output

    @property
    def input_dir(self) -> Path:
        """Where uploads are stored."""
        return self.state.folders.input

    async def set_down(self, down: bool) -> None:
        """Answer 503 on every ComfyUI route (and drop the sockets) until set back."""
        self.state.faults.down = down
        if down:
            await self.state.hub.close_all()

    def set_models(self, models: dict[str, list[str]]) -> None:
        """Replace the installed model lists (what validation and /models see)."""
        self.state.config.models = models
        self.state.info = self.state.base_info.with_installed(models)
