"""Warm-up: one small job through the worker's POST /generate so the checkpoint is loaded."""

from __future__ import annotations

import os
from pathlib import Path

import httpx

from infra.podconfig import read_env_file
from infra.podstatus import load_services

# The fewest steps the worker accepts, smallest resolution: loading the model is the point.
WARMUP_PARAMS = {"steps": 20, "batch_size": 1, "seed": 1}


def warm_up(workspace: Path, style: str, timeout: float) -> int:
    """POST a tiny job to the worker; a failure is reported, never fatal (exit 0)."""
    worker = load_services(workspace)["services"].get("gpu_server")
    if not worker or not worker.get("port"):
        print("warmup: no gpu_server in run/services.json; skipped")
        return 0
    token = os.environ.get("WORKER_TOKEN") or read_env_file(workspace / ".env").get(
        "WORKER_TOKEN", ""
    )
    url = f"http://127.0.0.1:{worker['port']}/generate"
    body = {
        "mode": "free",
        "style": style,
        "prompt": "a plain grey sphere",
        "params": WARMUP_PARAMS,
    }
    headers = {"Authorization": f"Bearer {token}"}
    try:
        resp = httpx.post(url, json=body, headers=headers, timeout=timeout)
    except httpx.HTTPError as exc:
        print(f"warmup: {url} did not answer ({type(exc).__name__}); the first job loads models")
        return 0
    if resp.status_code == 200:
        print(f"warmup: style {style} ran; its checkpoint is loaded")
    else:
        code = _error_code(resp)
        print(f"warmup: worker answered {resp.status_code} {code}; the first job loads models")
    return 0


def _error_code(resp: httpx.Response) -> str:
    try:
        body = resp.json()
    except ValueError:
        return ""
    return str(body.get("error_code", "")) if isinstance(body, dict) else ""
