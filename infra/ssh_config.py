"""ssh_manager's connection settings: infra/ssh_config.json (git-ignored)."""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from infra import SshError

DEFAULT_CONFIG = Path(__file__).with_name("ssh_config.json")


class Connection(BaseModel):
    """One way into one pod."""

    model_config = ConfigDict(extra="forbid")

    # direct: the pod's public IP and mapped TCP port (exec, tunnels, deploy all work).
    # runpod-proxy: ssh.runpod.io, which gives an interactive shell only.
    type: Literal["direct", "runpod-proxy"] = "direct"
    host: str = Field(min_length=1)
    port: int = Field(default=22, ge=1, le=65535)
    user: str = "root"
    key: Path
    jump: str | None = Field(default=None, description="ProxyJump spec, e.g. user@bastion:22")
    workspace: str = "/workspace"
    repo: str | None = None
    python: str | None = None
    env: dict[str, str] = Field(default_factory=dict, description="extra env for pod commands")

    @property
    def repo_dir(self) -> str:
        """Where the genpod checkout lives on the pod."""
        return self.repo or f"{self.workspace}/genpod"

    @property
    def python_exe(self) -> str:
        """The pod venv's interpreter."""
        return self.python or f"{self.workspace}/venv/bin/python"


class SshConfig(BaseModel):
    """The whole file: connections by name and where known host keys are kept."""

    model_config = ConfigDict(extra="forbid")

    default: str
    known_hosts: Path = Path("~/.ssh/genpod_known_hosts")
    ssh: str = "ssh"
    connect_timeout_s: int = Field(default=10, ge=1, le=120)
    hosts: dict[str, Connection]

    def connection(self, name: str | None) -> Connection:
        """The named connection, or the default one."""
        key = name or self.default
        if key not in self.hosts:
            known = ", ".join(sorted(self.hosts))
            raise SshError(f"no connection named {key!r} in the config; known: {known}")
        return self.hosts[key]


def load_config(path: Path) -> SshConfig:
    """Read the JSON config with a sentence that says what to fix."""
    if not path.is_file():
        example = path.with_name("ssh_config.example.json")
        raise SshError(f"config {path} not found; copy {example.name} to it and fill it in")
    try:
        return SshConfig.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, ValidationError) as exc:
        raise SshError(f"config {path} is invalid: {exc}") from exc


def check_key(key: Path) -> Path:
    """The private key exists and (on POSIX) only its owner can read it."""
    path = key.expanduser()
    if not path.is_file():
        raise SshError(
            f"ssh key {path} not found; create one with: ssh-keygen -t ed25519 -f {path} "
            "and add the .pub file to the pod (RunPod: Settings > SSH Public Keys)"
        )
    if sys.platform != "win32" and stat.S_IMODE(path.stat().st_mode) & 0o077:
        raise SshError(
            f"ssh key {path} is readable by other users and ssh will refuse it; "
            f"fix with: chmod 600 {path}"
        )
    return path


def known_hosts_file(config: SshConfig) -> Path:
    """The known-hosts file, with its folder created."""
    path = config.known_hosts.expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    if os.name != "nt":
        path.parent.chmod(path.parent.stat().st_mode | stat.S_IRWXU)
    return path
