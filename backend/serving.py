"""uvicorn's server with one addition: open long polls are answered when shutdown begins."""

from __future__ import annotations

import socket

import uvicorn
from fastapi import FastAPI

from backend.app import begin_shutdown


class BackendServer(uvicorn.Server):
    """A uvicorn server that wakes the app's waiting requests the moment it starts stopping.

    uvicorn runs the app's lifespan shutdown only after every open request has finished,
    so a worker's lease long poll (up to 60 s) or a client's /generate wait would hold the
    process up; they are told first, and answer at once.
    """

    def __init__(self, config: uvicorn.Config, app: FastAPI) -> None:
        super().__init__(config)
        self._app = app

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        """Wake the waiting requests, then uvicorn's graceful shutdown."""
        begin_shutdown(self._app)
        await super().shutdown(sockets)
