"""`python -m gpu_server`: read settings once and serve the worker with uvicorn."""

from __future__ import annotations

import logging

import uvicorn

from gpu_server.server import create_app
from gpu_server.settings import GpuServerSettings


def main() -> None:
    """Entry point."""
    settings = GpuServerSettings()
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    # One line per HTTP call to ComfyUI and the backend would drown the worker's own lines.
    logging.getLogger("httpx").setLevel(
        max(logging.WARNING, logging.getLevelName(settings.log_level))
    )
    uvicorn.run(
        create_app(settings),
        host=settings.gpu_server_host,
        port=settings.gpu_server_port,
        log_level=settings.log_level.lower(),
    )


if __name__ == "__main__":
    main()
