"""Pod layout rendering, remote command quoting and the example ssh config."""

from __future__ import annotations

import configparser
import os
import shlex
from pathlib import Path

import pytest
import yaml

from infra import InfraError, SshError
from infra.podconfig import (
    TEMPLATE,
    PodLayout,
    ensure_secrets,
    external_comfyui_url,
    extra_model_paths,
    layout_from_env,
    read_env_file,
    render_supervisord,
)
from infra.podstatus import gpu_info, render
from infra.ssh_client import remote_command
from infra.ssh_config import Connection, load_config
from infra.ssh_ops import check_service

REPO = Path(__file__).resolve().parents[2]


def _render(tmp_path: Path, **kw: object) -> configparser.RawConfigParser:
    layout = PodLayout(workspace=tmp_path, python="/v/bin/python", comfyui_dir=None, **kw)  # type: ignore[arg-type]
    parser = configparser.RawConfigParser()
    parser.read_string(render_supervisord(layout, TEMPLATE.read_text()))
    return parser


def test_bot_program_only_when_its_token_is_set(tmp_path: Path) -> None:
    """The telegram_bot program exists exactly when TELEGRAM_BOT_TOKEN is configured."""
    assert "program:telegram_bot" not in _render(tmp_path).sections()
    assert "program:telegram_bot" in _render(tmp_path, bot_enabled=True).sections()
    env_layout = layout_from_env(tmp_path, "py", None, {"TELEGRAM_BOT_TOKEN": "123:abc"})
    assert env_layout.bot_enabled


def test_rendered_config_restarts_logs_and_passes_retention(tmp_path: Path) -> None:
    """Every program auto-restarts with rotated logs; the backend gets RESULT_RETENTION_S."""
    conf = _render(tmp_path, retention_s="3600.0")
    for name in ("comfyui", "backend", "gpu_server"):
        section = conf[f"program:{name}"]
        assert section["autorestart"] == "true"
        assert section["stdout_logfile"] == f"{tmp_path}/logs/{name}.log"
        assert section["stdout_logfile_backups"] == "5"
    assert 'RESULT_RETENTION_S="3600.0"' in conf["program:backend"]["environment"]
    assert 'BACKEND_HOST="127.0.0.1"' in conf["program:backend"]["environment"]
    assert "--wait-url http://127.0.0.1:8188/system_stats" in conf["program:gpu_server"]["command"]


def test_real_comfyui_listens_on_loopback_with_model_paths(tmp_path: Path) -> None:
    """With ComfyUI installed, main.py runs with --listen 127.0.0.1 and extra model paths."""
    layout = PodLayout(workspace=tmp_path, python="/v/bin/python", comfyui_dir=tmp_path / "ComfyUI")
    parser = configparser.RawConfigParser()
    parser.read_string(render_supervisord(layout, TEMPLATE.read_text()))
    command = parser["program:comfyui"]["command"]
    assert "main.py --listen 127.0.0.1 --port 8188" in command
    assert f"--extra-model-paths-config {tmp_path}/config/extra_model_paths.yaml" in command
    assert parser["program:comfyui"]["directory"] == str(tmp_path / "ComfyUI")


def test_percent_in_paths_is_escaped_for_supervisord(tmp_path: Path) -> None:
    """A % in the workspace path survives supervisord's %-interpolation."""
    ws = tmp_path / "a%b"
    layout = PodLayout(workspace=ws, python="/v/bin/python", comfyui_dir=None)
    assert f"{tmp_path}/a%%b/logs" in render_supervisord(layout, TEMPLATE.read_text())


def test_extra_model_paths_points_every_folder_at_the_workspace(tmp_path: Path) -> None:
    """extra_model_paths.yaml maps checkpoints, loras, controlnet... under $WORKSPACE/models."""
    data = yaml.safe_load(extra_model_paths(tmp_path / "models"))["genpod"]
    assert data["base_path"] == str(tmp_path / "models")
    assert data["controlnet"] == "controlnet"
    assert data["upscale_models"] == "upscale_models"


def test_secrets_are_added_once_and_kept(tmp_path: Path) -> None:
    """ensure_secrets fills missing WORKER_TOKEN/API_KEYS, keeps existing values, mode 0600."""
    env_file = tmp_path / ".env"
    env_file.write_text("WORKER_TOKEN=mine\n")
    assert ensure_secrets(env_file) == ["API_KEYS", "BACKEND_API_KEY"]
    values = read_env_file(env_file)
    assert values["WORKER_TOKEN"] == "mine"
    assert values["BACKEND_API_KEY"] in values["API_KEYS"]
    assert ensure_secrets(env_file) == []
    assert env_file.stat().st_mode & 0o777 == 0o600


def test_remote_command_quotes_every_word() -> None:
    """Paths and values with spaces or shell characters reach the pod as single words."""
    conn = Connection(host="h", key=Path("k"), workspace="/w s", env={"X": "a;b"})
    line = remote_command(conn, ["tail", "-n", "5", "/w s/logs/$(reboot).log"])
    assert shlex.split(line) == [
        "cd", "/w s/genpod", "&&", "env", "WORKSPACE=/w s", "X=a;b",
        "tail", "-n", "5", "/w s/logs/$(reboot).log",
    ]  # fmt: skip


def test_only_known_services_pass() -> None:
    """check_service accepts the four services (and all for restart) and nothing else."""
    assert check_service("gpu_server") == "gpu_server"
    assert check_service("all", allow_all=True) == "all"
    for bad in ("all", "backend;id", "", "../x"):
        with pytest.raises(SshError):
            check_service(bad)


def test_example_config_is_valid_and_has_placeholders_only() -> None:
    """ssh_config.example.json loads and uses documentation addresses, not real hosts."""
    config = load_config(REPO / "infra" / "ssh_config.example.json")
    assert config.connection(None).host == "203.0.113.10"  # TEST-NET-3, never routed
    assert config.hosts["pod-proxy"].type == "runpod-proxy"


def test_gpu_line_comes_from_nvidia_smi_csv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """status parses nvidia-smi's CSV query (a stand-in executable on PATH here)."""
    fake = tmp_path / "nvidia-smi"
    fake.write_text("#!/bin/sh\necho 'NVIDIA H100 80GB HBM3, 1234, 81559, 7, 35'\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    (gpu,) = gpu_info() or []
    assert gpu == {
        "name": "NVIDIA H100 80GB HBM3",
        "memory.used": "1234",
        "memory.total": "81559",
        "utilization.gpu": "7",
        "temperature.gpu": "35",
    }
    status = {"workspace": "/w", "supervisord": True, "services": {}, "gpu": [gpu], "healthy": True,
              "disk": {"percent": 85.0, "free_gb": 3.0, "path": "/w", "warning": True}}  # fmt: skip
    text = render(status)
    assert "gpu  name=NVIDIA H100 80GB HBM3" in text
    assert "WARNING: disk above 80%" in text


def test_external_comfyui_replaces_the_supervised_program(tmp_path: Path) -> None:
    """With COMFYUI_URL there is no comfyui program; the worker waits for and uses that URL."""
    env = {"COMFYUI_URL": "https://gpu.example.org:8443/comfy/"}
    layout = layout_from_env(tmp_path, "/v/bin/python", tmp_path / "ComfyUI", env)
    assert layout.comfyui_url == "https://gpu.example.org:8443/comfy"
    parser = configparser.RawConfigParser()
    parser.read_string(render_supervisord(layout, TEMPLATE.read_text()))
    assert [s for s in parser.sections() if s.startswith("program:")] == [
        "program:backend",
        "program:gpu_server",
    ]
    worker = parser["program:gpu_server"]
    assert 'COMFYUI_URL="https://gpu.example.org:8443/comfy"' in worker["environment"]
    assert "--wait-url https://gpu.example.org:8443/comfy/system_stats" in worker["command"]
    assert "127.0.0.1:8188" not in render_supervisord(layout, TEMPLATE.read_text())
    comfyui = layout.services()["comfyui"]
    assert comfyui == {
        "port": None,
        "health": "https://gpu.example.org:8443/comfy/system_stats",
        "external": True,
    }
    assert layout.engine() == "external ComfyUI at https://gpu.example.org:8443/comfy"


def test_comfyui_url_is_read_from_the_workspace_env_file(tmp_path: Path) -> None:
    """COMFYUI_URL in $WORKSPACE/.env counts; an empty one in the environment means local."""
    (tmp_path / ".env").write_text("COMFYUI_URL=http://10.0.0.5:8188\n")
    assert layout_from_env(tmp_path, "py", None, {}).comfyui_url == "http://10.0.0.5:8188"
    local = layout_from_env(tmp_path, "py", None, {"COMFYUI_URL": ""})
    assert local.comfyui_url is None
    assert local.engine_url == "http://127.0.0.1:8188"


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("ftp://10.0.0.5:8188", "needs an http or https scheme and a host"),
        ("10.0.0.5:8188", "needs an http or https scheme and a host"),
        ("http://:8188", "needs an http or https scheme and a host"),
        ("http://10.0.0.5:99999", "is not a valid URL"),
        ("http://10.0.0.5:port", "is not a valid URL"),
        ("http://10.0.0.5:8188/a b", "may not have a query, spaces or quotes"),
        ('http://10.0.0.5:8188/"x', "may not have a query, spaces or quotes"),
        ("http://10.0.0.5:8188/?x=1", "may not have a query, spaces or quotes"),
    ],
)
def test_bad_comfyui_url_is_refused_with_a_sentence(value: str, says: str) -> None:
    """A COMFYUI_URL without http(s), host or a valid port is an InfraError naming the fix."""
    with pytest.raises(InfraError, match=says) as info:
        external_comfyui_url(value)
    assert "http://10.0.0.5:8188 or https://" in str(info.value)


def test_credentials_in_comfyui_url_are_refused_without_echoing_them() -> None:
    """A user:password URL is refused and the password is not printed back."""
    with pytest.raises(InfraError, match="must not contain a user or password") as info:
        external_comfyui_url("http://admin:s3cret@10.0.0.5:8188")
    assert "s3cret" not in str(info.value)
