"""`python -m infra.pod prepare|status|wait|warmup`: the pod-side half of startup.sh."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import httpx

from infra import InfraError
from infra.podconfig import (
    ensure_secrets,
    external_comfyui_url,
    layout_from_env,
    read_env_file,
    write_layout,
)
from infra.podstatus import collect, load_services, render


def _prepare(args: argparse.Namespace) -> int:
    ws = args.workspace.resolve()
    added = ensure_secrets(ws / ".env")
    if added:
        print(f"pod: generated {', '.join(added)} in {ws / '.env'} (mode 0600)")
    comfyui = None if args.demo else args.comfyui_dir
    layout = layout_from_env(ws, args.python, comfyui, os.environ)
    if args.demo and layout.comfyui_url:
        raise InfraError("--demo and COMFYUI_URL exclude each other: drop one of them")
    write_layout(layout)
    print(f"pod: wrote {layout.conf_path}; image engine: {layout.engine()}")
    return 0


def _comfyui_url(args: argparse.Namespace) -> int:
    """Print the checked external COMFYUI_URL (environment, then .env); nothing when unset."""
    merged = {**read_env_file(args.workspace.resolve() / ".env"), **os.environ}
    url = external_comfyui_url(merged.get("COMFYUI_URL"))
    print(url or "")
    return 0


def _status(args: argparse.Namespace) -> int:
    status = collect(args.workspace.resolve())
    print(json.dumps(status) if args.json else render(status))
    return 0 if status["healthy"] else 1


def _wait(args: argparse.Namespace) -> int:
    """Wait until every service's health URL answers 200."""
    services = load_services(args.workspace.resolve())["services"]
    urls = [svc["health"] for svc in services.values() if svc.get("health")]
    deadline = time.monotonic() + args.timeout
    while urls and time.monotonic() < deadline:
        try:
            if httpx.get(urls[0], timeout=2.0).status_code == 200:
                urls.pop(0)
                continue
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    if urls:
        print(f"pod: not healthy after {args.timeout:.0f}s: {', '.join(urls)}", file=sys.stderr)
        return 1
    return 0


def build_parser() -> argparse.ArgumentParser:
    """Command-line interface of the pod helper."""
    parser = argparse.ArgumentParser(prog="python -m infra.pod", description=__doc__)
    default_ws = Path(os.environ.get("WORKSPACE", "/workspace"))
    parser.add_argument("--workspace", type=Path, default=default_ws)
    sub = parser.add_subparsers(dest="command", required=True)
    prep = sub.add_parser("prepare", help="secrets, directories, supervisord.conf, model paths")
    prep.add_argument("--python", default=sys.executable, help="interpreter of the venv")
    prep.add_argument("--comfyui-dir", type=Path, default=None)
    prep.add_argument("--demo", action="store_true", help="run the demo engine, not ComfyUI")
    sub.add_parser("comfyui-url", help="print the checked external COMFYUI_URL, if any")
    status = sub.add_parser("status", help="supervisor states, ports, health, GPU, disk")
    status.add_argument("--json", action="store_true")
    wait = sub.add_parser("wait", help="wait until every /health answers 200")
    wait.add_argument("--timeout", type=float, default=120.0)
    warm = sub.add_parser("warmup", help="run one small job so the default checkpoint loads")
    warm.add_argument("--style", default="realism")
    warm.add_argument("--timeout", type=float, default=300.0)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code."""
    args = build_parser().parse_args(argv)
    handlers = {
        "prepare": _prepare,
        "comfyui-url": _comfyui_url,
        "status": _status,
        "wait": _wait,
        "warmup": _warmup,
    }
    try:
        return handlers[args.command](args)
    except InfraError as exc:
        print(f"pod: error: {exc}", file=sys.stderr)
        return 2


def _warmup(args: argparse.Namespace) -> int:
    from infra.warmup import warm_up  # noqa: PLC0415  # only this command needs it

    return warm_up(args.workspace.resolve(), args.style, args.timeout)


if __name__ == "__main__":
    sys.exit(main())
