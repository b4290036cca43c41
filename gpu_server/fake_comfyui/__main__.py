"""Command line: run the fake ComfyUI (the genpod demo engine) on a loopback port."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from aiohttp import web

from gpu_server.fake_comfyui.app import create_app
from gpu_server.fake_comfyui.config import DEFAULT_OBJECT_INFO, FakeConfig, demo_models

log = logging.getLogger("gpu_server.fake_comfyui")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Read the command line flags."""
    parser = argparse.ArgumentParser(prog="python -m gpu_server.fake_comfyui", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8188)
    parser.add_argument(
        "--models", type=Path, help="JSON file {folder: [files]} of installed models"
    )
    parser.add_argument("--step-time", type=float, default=0.0, help="seconds per sampler step")
    parser.add_argument(
        "--job-time",
        type=float,
        default=0.0,
        help="wall-clock seconds each executed prompt occupies the execution slot, picture"
        " rendering and PNG encoding included (only the remainder is slept), like a GPU job"
        " of fixed length; sampler steps (--step-time) come on top",
    )
    parser.add_argument("--output-dir", type=Path, help="where outputs go (default: a temp folder)")
    parser.add_argument("--input-dir", type=Path, help="where uploads go (default: a temp folder)")
    parser.add_argument(
        "--object-info", type=Path, default=DEFAULT_OBJECT_INFO, help="captured /object_info JSON"
    )
    parser.add_argument(
        "--preview-method",
        default="none",
        choices=["none", "auto", "latent2rgb", "taesd"],
        help="anything but none sends binary preview frames",
    )
    parser.add_argument("--log-level", default="INFO")
    return parser.parse_args(argv)


def config_from(args: argparse.Namespace) -> FakeConfig:
    """Build the FakeConfig the flags describe."""
    models = demo_models()
    if args.models:
        models = json.loads(args.models.read_text(encoding="utf-8"))
    return FakeConfig(
        object_info_path=args.object_info,
        models=models,
        step_time=args.step_time,
        job_time=args.job_time,
        previews=args.preview_method != "none",
        output_dir=args.output_dir,
        input_dir=args.input_dir,
    )


def main(argv: list[str] | None = None) -> None:
    """Serve until interrupted."""
    args = parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    config = config_from(args)
    log.info(
        "genpod DEMO ENGINE: fake ComfyUI 0.3.64 (no GPU, pictures are labelled demos) on http://%s:%d",
        args.host,
        args.port,
    )
    web.run_app(create_app(config), host=args.host, port=args.port, print=None)


if __name__ == "__main__":
    main()
