"""`python -m backend`: read the settings once and serve the app with uvicorn."""

from __future__ import annotations

import logging

import uvicorn

from backend.app import create_app
from backend.settings import BackendSettings


def main() -> None:
    """Run the backend until interrupted."""
    settings = BackendSettings()
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    uvicorn.run(
        create_app(settings),
        host=settings.backend_host,
        port=settings.backend_port,
        loop="uvloop",
        http="httptools",
        access_log=settings.access_log,
        log_level=settings.log_level.lower(),
        # workers hold long polls open; a restart must not wait out their wait_s
        timeout_graceful_shutdown=3,
    )


if __name__ == "__main__":
    main()
