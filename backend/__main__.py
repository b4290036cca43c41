"""`python -m backend`: read the settings once and serve the app with uvicorn."""

from __future__ import annotations

import contextlib
import logging

import uvicorn

from backend.app import create_app
from backend.serving import BackendServer
from backend.settings import BackendSettings

# Long polls and event streams answer as soon as shutdown begins (BackendServer); this
# bounds what is left, e.g. an upload still arriving, before uvicorn cancels it.
GRACEFUL_SHUTDOWN_S = 3


def main() -> None:
    """Run the backend until interrupted."""
    settings = BackendSettings()
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    app = create_app(settings)
    config = uvicorn.Config(
        app,
        host=settings.backend_host,
        port=settings.backend_port,
        loop="uvloop",
        http="httptools",
        access_log=settings.access_log,
        log_level=settings.log_level.lower(),
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
    )
    # uvicorn re-raises the signal it stopped on; Ctrl+C is a normal way to stop
    with contextlib.suppress(KeyboardInterrupt):
        BackendServer(config, app).run()


if __name__ == "__main__":
    main()
