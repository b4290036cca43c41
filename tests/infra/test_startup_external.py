"""startup.sh with COMFYUI_URL: an external ComfyUI is used, not started, and checked."""

from __future__ import annotations

import configparser
import hashlib
import json
import shutil
import tempfile
from pathlib import Path

import httpx
import yaml

from infra.podconfig import read_env_file
from infra.podstatus import port_open
from tests.infra.conftest import Pod, pod_env
from tests.infra.fileserver import Served, file_server
from tests.support.procs import free_port, service

PROMPT = "a lighthouse on a cliff at dawn"


def _manifest(path: Path, base: str, body: bytes) -> Path:
    """A one-model manifest served by the loopback file server."""
    entry = {
        "name": "tiny",
        "url": f"{base}/tiny.bin",
        "filename": "tiny.safetensors",
        "folder": "loras",
        "sha256": hashlib.sha256(body).hexdigest(),
        "size": len(body),
        "license": "test",
        "styles": ["anime"],
    }
    path.write_text(yaml.safe_dump({"models": [entry]}))
    return path


def _client_key(workspace: Path) -> str:
    """The client API key startup.sh generated into $WORKSPACE/.env."""
    return read_env_file(workspace / ".env")["API_KEYS"].split(",")[0].split(":")[0]


def _check_rendered_config(workspace: Path, url: str) -> None:
    conf = configparser.RawConfigParser()
    conf.read(workspace / "config" / "supervisord.conf")
    programs = [s for s in conf.sections() if s.startswith("program:")]
    assert programs == ["program:backend", "program:gpu_server"]
    assert f'COMFYUI_URL="{url}"' in conf["program:gpu_server"]["environment"]
    assert f"--wait-url {url}/system_stats" in conf["program:gpu_server"]["command"]


def test_external_comfyui_is_used_and_models_still_sync(tmp_path: Path) -> None:
    """COMFYUI_URL: no comfyui program, healthy status, models synced, jobs run on that URL."""
    workspace = Path(tempfile.mkdtemp(prefix="gp-ext-"))  # short: supervisord socket path
    ports = {name: free_port() for name in ("backend", "gpu_server", "comfyui")}
    fake_port = free_port()
    url = f"http://127.0.0.1:{fake_port}"
    body = bytes(range(256)) * 8
    fake_args = ["-m", "gpu_server.fake_comfyui", "--port", str(fake_port)]
    with (
        file_server(Served(files={"/tiny.bin": body})) as base,
        service("fake", fake_args, health_url=f"{url}/system_stats", log_dir=tmp_path),
    ):
        env = pod_env(workspace, ports)
        env.update(COMFYUI_URL=f"{url}/", WARMUP="0")
        env["MODELS_MANIFEST"] = str(_manifest(tmp_path / "models.yaml", base, body))
        (workspace / ".env").write_text("LEASE_WAIT_S=1\n")
        pod = Pod(workspace, env, ports)
        try:
            result = pod.startup()
            assert result.returncode == 0, result.stdout + result.stderr
            assert f"image engine: external ComfyUI at {url}" in result.stdout
            _check_rendered_config(workspace, url)
            assert (workspace / "models" / "loras" / "tiny.safetensors").read_bytes() == body
            assert not port_open(ports["comfyui"])
            status = pod.startup("--status")
            assert status.returncode == 0, status.stdout
            assert f"OK   comfyui       EXTERNAL  {url}" in status.stdout
            resp = httpx.post(
                f"http://127.0.0.1:{ports['backend']}/generate",
                headers={"X-API-Key": _client_key(workspace)},
                json={"mode": "free", "prompt": PROMPT, "style": "anime"},
                timeout=120,
            )
            assert resp.status_code == 200, resp.text
            assert resp.json()["status"] == "done"
            seen = httpx.get(f"{url}/fake/prompts", timeout=5).json()
            assert PROMPT in json.dumps(seen)
        finally:
            pod.startup("--stop", timeout=60)
            shutil.rmtree(workspace, ignore_errors=True)


def test_bad_comfyui_url_stops_startup_with_a_clear_error() -> None:
    """startup.sh refuses a COMFYUI_URL without http(s) before writing any config."""
    workspace = Path(tempfile.mkdtemp(prefix="gp-bad-"))
    ports = {name: free_port() for name in ("backend", "gpu_server", "comfyui")}
    pod = Pod(workspace, {**pod_env(workspace, ports), "COMFYUI_URL": "gpu-box:8188"}, ports)
    try:
        result = pod.startup(timeout=60)
        assert result.returncode != 0
        assert "needs an http or https scheme and a host" in result.stderr
        assert "COMFYUI_URL is not usable" in result.stderr
        assert not (workspace / "config" / "supervisord.conf").exists()
    finally:
        shutil.rmtree(workspace, ignore_errors=True)
