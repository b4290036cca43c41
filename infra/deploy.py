"""ssh_manager deploy: update the pod's code, reinstall, restart, health-check, roll back."""

from __future__ import annotations

import os
import shlex
import subprocess
import time

from infra import SshError
from infra.podstatus import render
from infra.ssh_client import SshTarget, remote_command, run
from infra.ssh_ops import status_data

DEPLOY_BRANCH = "genpod-deploy"


def _remote(target: SshTarget, argv: list[str], timeout: float = 900) -> str:
    """Run argv in the pod's repo; a non-zero exit is an error carrying its output."""
    proc = run(target, remote_command(target.conn, argv), timeout=timeout)
    out = proc.stdout.decode(errors="replace")
    if proc.returncode != 0:
        err = proc.stderr.decode(errors="replace").strip()
        raise SshError(f"`{shlex.join(argv)}` failed on the pod ({proc.returncode}): {err or out}")
    return out


def push_head(target: SshTarget, local_repo: str) -> str:
    """git push this checkout's HEAD to the pod's repo as branch genpod-deploy."""
    conn = target.conn
    url = f"ssh://{conn.user}@{conn.host}:{conn.port}{conn.repo_dir}"
    env = {**os.environ, "GIT_SSH_COMMAND": shlex.join(target.base)}
    cmd = ["git", "-C", local_repo, "push", "--force", "--quiet", url, f"HEAD:{DEPLOY_BRANCH}"]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if proc.returncode != 0:
        raise SshError(f"git push to the pod failed: {proc.stderr.strip()}")
    return DEPLOY_BRANCH


def wait_healthy(target: SshTarget, timeout: float) -> bool:
    """Poll the pod's status until healthy or timeout; prints the last status."""
    deadline = time.monotonic() + timeout
    while True:
        data = status_data(target)
        if data["healthy"] or time.monotonic() > deadline:
            print(render(data))
            return bool(data["healthy"])
        time.sleep(2)


def _apply(target: SshTarget, ref: str) -> None:
    """Check out ref and run startup.sh --restart (installs only what changed)."""
    _remote(target, ["git", "checkout", "--quiet", "--detach", ref])
    print(_remote(target, ["bash", "startup.sh", "--restart", "--no-warmup"]), end="")


def deploy(target: SshTarget, *, ref: str | None, push_from: str | None, timeout: float) -> int:
    """0 deployed and healthy; 1 unhealthy and rolled back; 2 rollback unhealthy too."""
    previous = _remote(target, ["git", "rev-parse", "HEAD"]).strip()
    if push_from is not None:
        ref = push_head(target, push_from)
    else:
        _remote(target, ["git", "fetch", "--quiet", "origin"])
        ref = ref or "origin/main"
    new = _remote(target, ["git", "rev-parse", ref]).strip()
    print(f"deploy: {previous[:12]} -> {new[:12]} ({ref})")
    _apply(target, new)
    if wait_healthy(target, timeout):
        print(f"deploy: {new[:12]} is live and healthy")
        return 0
    print(f"deploy: {new[:12]} is not healthy; rolling back to {previous[:12]}")
    _apply(target, previous)
    if wait_healthy(target, timeout):
        print(f"deploy: rolled back to {previous[:12]}; the pod is healthy")
        return 1
    print("deploy: rollback finished but the pod is still not healthy; see `logs`")
    return 2
