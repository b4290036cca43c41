"""Start one supervised service: load .env, write a PID file, wait for dependencies, exec.

supervisord runs every genpod program through this wrapper, e.g.::

    python -m infra.launch --name gpu_server --run-dir /workspace/run \
        --env-file /workspace/.env --wait-url http://127.0.0.1:8188/system_stats \
        -- python -m gpu_server

After exec the service keeps this process's PID, so supervisord signals the service itself.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import httpx

from infra.podconfig import read_env_file


def wait_for(urls: Sequence[str], timeout: float, interval: float = 0.5) -> bool:
    """Block until every URL answers HTTP (any status); False on timeout."""
    deadline = time.monotonic() + timeout
    pending = list(urls)
    last_note = 0.0
    while pending:
        try:
            httpx.get(pending[0], timeout=2.0)
            pending.pop(0)
            continue
        except httpx.HTTPError:
            pass
        now = time.monotonic()
        if now > deadline:
            return False
        if now - last_note > 10:
            print(f"launch: waiting for {pending[0]}", flush=True)
            last_note = now
        time.sleep(interval)
    return True


def _write_pid(path: Path) -> None:
    """Atomic, so a reader never sees an empty PID file."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(f"{os.getpid()}\n", encoding="utf-8")
    tmp.replace(path)


def build_parser() -> argparse.ArgumentParser:
    """Flags of the wrapper; the service's command follows `--`."""
    parser = argparse.ArgumentParser(prog="python -m infra.launch")
    parser.add_argument("--name", required=True)
    parser.add_argument("--run-dir", type=Path, required=True, help="PID file goes here")
    parser.add_argument("--env-file", type=Path, help="KEY=VALUE file; the environment wins")
    parser.add_argument("--wait-url", action="append", default=[], help="must answer first")
    parser.add_argument("--wait-timeout", type=float, default=600.0)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Prepare and exec; returns only when the service cannot be started."""
    args = build_parser().parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        print("launch: no command after --", file=sys.stderr)
        return 2
    if args.env_file:
        for key, value in read_env_file(args.env_file).items():
            os.environ.setdefault(key, value)
    args.run_dir.mkdir(parents=True, exist_ok=True)
    _write_pid(args.run_dir / f"{args.name}.pid")
    if not wait_for(args.wait_url, args.wait_timeout):
        print(f"launch: {args.name}: dependencies did not answer in time", file=sys.stderr)
        return 1
    sys.stdout.flush()
    os.execvp(command[0], command)  # noqa: S606  # the command comes from our own supervisord config
    return 1  # pragma: no cover - execvp does not return


if __name__ == "__main__":
    sys.exit(main())
