"""startup.sh brings the platform up under supervisord, keeps it up, and is idempotent."""

from __future__ import annotations

import os
import shutil
import signal
import stat
import tempfile
import time
from pathlib import Path

import httpx

from tests.infra.conftest import Pod, pod_env
from tests.support.procs import free_port


def _health(port: int, path: str = "/health") -> int | None:
    try:
        return httpx.get(f"http://127.0.0.1:{port}{path}", timeout=2).status_code
    except httpx.HTTPError:
        return None


def test_all_services_are_up_and_healthy(pod: Pod) -> None:
    """After startup.sh every program is RUNNING and backend and worker answer /health 200."""
    status = pod.supervisorctl("status")
    for name in ("comfyui", "backend", "gpu_server"):
        assert f"{name} " in status
    assert status.count("RUNNING") == 3, status
    assert _health(pod.ports["backend"]) == 200
    assert _health(pod.ports["gpu_server"]) == 200


def test_secrets_are_generated_once_with_private_mode(pod: Pod) -> None:
    """The .env holds a generated WORKER_TOKEN and API keys, readable by the owner only."""
    env_file = pod.workspace / ".env"
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    text = env_file.read_text()
    assert "WORKER_TOKEN=" in text
    assert "API_KEYS=" in text


def test_comfyui_is_bound_to_loopback_only(pod: Pod) -> None:
    """The supervisord config starts the engine with --host/--listen 127.0.0.1."""
    conf = (pod.workspace / "config" / "supervisord.conf").read_text()
    line = next(ln for ln in conf.splitlines() if ln.startswith("command=") and "comfyui" in ln)
    assert "127.0.0.1" in line
    assert "0.0.0.0" not in conf


def test_kill_9_of_each_service_is_restarted_within_10s(pod: Pod) -> None:
    """SIGKILL of a service's process brings a new process back, answering, within 10 s."""
    for name, path in (
        ("comfyui", "/system_stats"),
        ("backend", "/health"),
        ("gpu_server", "/health"),
    ):
        port = pod.ports[name]
        pid = int((pod.workspace / "run" / f"{name}.pid").read_text())
        os.kill(pid, signal.SIGKILL)
        started = time.monotonic()
        while time.monotonic() - started < 10:
            new = int((pod.workspace / "run" / f"{name}.pid").read_text())
            if new != pid and _health(port, path) == 200:
                break
            time.sleep(0.2)
        else:
            raise AssertionError(f"{name} not back within 10 s:\n{pod.supervisorctl('status')}")


def test_rerun_reuses_supervisord_and_secrets(pod: Pod) -> None:
    """A second startup.sh keeps the same supervisord and .env, and ends healthy."""
    pid_file = pod.workspace / "run" / "supervisord.pid"
    before_pid, before_env = pid_file.read_text(), (pod.workspace / ".env").read_text()
    result = pod.startup("--no-warmup")
    assert result.returncode == 0, result.stderr
    assert "supervisord already running" in result.stdout
    assert pid_file.read_text() == before_pid
    assert (pod.workspace / ".env").read_text() == before_env
    assert "healthy" in result.stdout.splitlines()[-1]


def test_status_flag_reports_health_and_disk(pod: Pod) -> None:
    """./startup.sh --status lists each service, the engine, disk use; exits 0 when healthy."""
    result = pod.startup("--status")
    assert result.returncode == 0, result.stdout
    assert "OK   backend" in result.stdout
    assert "engine demo" in result.stdout
    assert "% used" in result.stdout


def test_a_job_through_the_public_api_completes(pod: Pod) -> None:
    """The generated API key and worker token wire backend, worker and engine together."""
    api_keys = next(
        line.split("=", 1)[1]
        for line in (pod.workspace / ".env").read_text().splitlines()
        if line.startswith("API_KEYS=")
    )
    client_key = api_keys.split(",")[0].split(":")[0]
    resp = httpx.post(
        f"http://127.0.0.1:{pod.ports['backend']}/generate",
        headers={"X-API-Key": client_key},
        json={"mode": "free", "prompt": "a red apple on a table", "style": "anime"},
        timeout=120,
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["status"] == "done"
    assert body["image"]


def test_boot_after_a_crash_with_stale_pid_and_socket() -> None:
    """After everything died at once (pod restart), startup.sh cleans up and starts again."""
    workspace = Path(tempfile.mkdtemp(prefix="gp-boot-"))
    ports = {name: free_port() for name in ("backend", "gpu_server", "comfyui")}
    booted = Pod(workspace, {**pod_env(workspace, ports), "WARMUP": "0"}, ports)
    try:
        assert booted.startup().returncode == 0
        run = workspace / "run"
        # supervisord first, so it cannot respawn a child; like a reboot, nobody cleans up.
        pids = [int((run / f"{name}.pid").read_text()) for name in ("supervisord", *ports)]
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        assert (run / "supervisor.sock").exists()
        result = booted.startup()
        assert result.returncode == 0, result.stdout + result.stderr
        assert "starting supervisord" in result.stdout
        assert _health(ports["backend"]) == 200
        assert int((run / "supervisord.pid").read_text()) != pids[0]
    finally:
        booted.startup("--stop", timeout=60)
        shutil.rmtree(workspace, ignore_errors=True)
