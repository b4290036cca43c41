"""What is running on a pod: supervisor states, ports, /health, GPU, disk."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

DISK_WARN_PERCENT = 80.0
GPU_QUERY = "name,memory.used,memory.total,utilization.gpu,temperature.gpu"


def load_services(workspace: Path) -> dict[str, Any]:
    """run/services.json as written by `infra.pod prepare`."""
    path = workspace / "run" / "services.json"
    if not path.is_file():
        return {"conf": str(workspace / "config" / "supervisord.conf"), "services": {}}
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def supervisorctl(conf: str, *args: str, timeout: float = 30.0) -> subprocess.CompletedProcess[str]:
    """Run supervisorctl (from this interpreter's environment) against conf."""
    cmd = [sys.executable, "-m", "supervisor.supervisorctl", "-c", conf, *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)  # noqa: S603  # fixed argv


def supervisor_programs(conf: str) -> dict[str, dict[str, str]]:
    """Program name -> {state, detail}; empty when supervisord is not running."""
    if not Path(conf).is_file():
        return {}
    programs: dict[str, dict[str, str]] = {}
    for line in supervisorctl(conf, "status").stdout.splitlines():
        parts = line.split(None, 2)
        if len(parts) >= 2 and parts[1].isupper():
            programs[parts[0]] = {"state": parts[1], "detail": parts[2] if len(parts) > 2 else ""}
    return programs


def port_open(port: int) -> bool:
    """True when something accepts TCP connections on 127.0.0.1:port."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0):
            return True
    except OSError:
        return False


def health(url: str) -> dict[str, Any]:
    """GET url: HTTP status and the body's `status` field when it has one."""
    try:
        resp = httpx.get(url, timeout=3.0)
    except httpx.HTTPError as exc:
        return {"code": None, "error": type(exc).__name__}
    try:
        body = resp.json()
    except ValueError:
        body = None
    body = body if isinstance(body, dict) else {}
    # The worker says which engine it drives: "demo" is the fake ComfyUI, not a GPU.
    return {"code": resp.status_code, "status": body.get("status"), "engine": body.get("engine")}


def gpu_info() -> list[dict[str, str]] | None:
    """One dict per GPU from nvidia-smi, or None when there is no nvidia-smi."""
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return None
    cmd = [exe, f"--query-gpu={GPU_QUERY}", "--format=csv,noheader,nounits"]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=10, check=True).stdout  # noqa: S603
    except (subprocess.SubprocessError, OSError) as exc:
        return [{"error": str(exc)}]
    keys = GPU_QUERY.split(",")
    return [
        dict(zip(keys, (v.strip() for v in line.split(",")), strict=False))
        for line in out.splitlines()
    ]


def disk(path: Path) -> dict[str, Any]:
    """Use of the filesystem holding path, with a warning above 80%."""
    usage = shutil.disk_usage(path)
    percent = round(100.0 * usage.used / usage.total, 1)
    return {
        "path": str(path),
        "percent": percent,
        "free_gb": round(usage.free / 1e9, 1),
        "warning": percent > DISK_WARN_PERCENT,
    }


def collect(workspace: Path) -> dict[str, Any]:
    """Everything `status` shows, as JSON-ready data; healthy means all green."""
    layout = load_services(workspace)
    programs = supervisor_programs(layout["conf"])
    services: dict[str, Any] = {}
    for name, svc in layout["services"].items():
        # An external ComfyUI is not supervisord's: only its health counts.
        state = "EXTERNAL" if svc.get("external") else None
        entry: dict[str, Any] = {"state": state or programs.get(name, {}).get("state", "ABSENT")}
        if svc.get("external"):
            entry["url"] = str(svc["health"]).removesuffix("/system_stats")
        if svc.get("port"):
            entry["port"] = svc["port"]
            entry["listening"] = port_open(int(svc["port"]))
        if svc.get("health"):
            entry["health"] = health(svc["health"])
        entry["ok"] = (
            entry["state"] in ("RUNNING", "EXTERNAL")
            and entry.get("health", {"code": 200})["code"] == 200
        )
        services[name] = entry
    disk_info = disk(workspace)
    healthy = bool(services) and all(s["ok"] for s in services.values())
    return {
        "workspace": str(workspace),
        "supervisord": bool(programs),
        "services": services,
        "gpu": gpu_info(),
        "disk": disk_info,
        "healthy": healthy,
    }


def render(status: dict[str, Any]) -> str:
    """Plain-text report of collect()'s data."""
    lines = [
        f"workspace {status['workspace']}  supervisord {'up' if status['supervisord'] else 'DOWN'}"
    ]
    for name, svc in status["services"].items():
        mark = "OK  " if svc["ok"] else "FAIL"
        port = (
            f"port {svc['port']} {'open' if svc.get('listening') else 'closed'}"
            if "port" in svc
            else svc.get("url", "")
        )
        code = svc.get("health", {}).get("code")
        health_txt = f"health {code}" if "health" in svc else ""
        engine = svc.get("health", {}).get("engine")
        health_txt += f" engine {engine}" if engine else ""
        lines.append(f"  {mark} {name:<13} {svc['state']:<9} {port:<18} {health_txt}".rstrip())
    for gpu in status["gpu"] or []:
        lines.append("  gpu  " + ", ".join(f"{k}={v}" for k, v in gpu.items()))
    if status["gpu"] is None:
        lines.append("  gpu  none (no nvidia-smi)")
    d = status["disk"]
    warn = "  WARNING: disk above 80%, free space or raise the volume size" if d["warning"] else ""
    lines.append(f"  disk {d['percent']}% used, {d['free_gb']} GB free on {d['path']}{warn}")
    lines.append("healthy" if status["healthy"] else "NOT healthy")
    return "\n".join(lines)
