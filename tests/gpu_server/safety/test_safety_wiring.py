"""The worker builds its guard from settings, and refuses to start with a looser threshold."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gpu_server.guard import default_guard
from gpu_server.safety import GuardConfigError, NudityGuard
from gpu_server.settings import GpuServerSettings
from tests.support.procs import free_port

REPO = Path(__file__).resolve().parents[3]


def test_worker_guard_takes_stricter_thresholds_from_settings() -> None:
    """SAFETY_* settings reach the real guard when they are stricter than the floor."""
    settings = GpuServerSettings(safety_nudity_threshold=0.22, safety_open_nsfw_threshold=0.3)
    guard = default_guard(settings)
    assert isinstance(guard, NudityGuard)
    assert (guard.config.nudity_threshold, guard.config.open_nsfw_threshold) == (0.22, 0.3)


def test_looser_threshold_in_settings_is_a_start_up_error() -> None:
    """A threshold above 0.30 raises GuardConfigError while the worker builds its guard."""
    with pytest.raises(GuardConfigError, match="nudity_threshold"):
        default_guard(GpuServerSettings(safety_nudity_threshold=0.5))


def test_worker_process_exits_with_a_looser_threshold(tmp_path: Path) -> None:
    """`python -m gpu_server` with SAFETY_OPEN_NSFW_THRESHOLD=0.9 stops and says why."""
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "GPU_SERVER_PORT": str(free_port()),
        "COMFYUI_URL": f"http://127.0.0.1:{free_port()}",
        "SAFETY_OPEN_NSFW_THRESHOLD": "0.9",
        "DATA_DIR": str(tmp_path),
    }
    env.pop("BACKEND_URL", None)
    proc = subprocess.run(
        [sys.executable, "-m", "gpu_server"],
        check=False,
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert proc.returncode != 0
    assert "open_nsfw_threshold" in proc.stdout + proc.stderr
