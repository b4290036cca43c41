"""What each ssh_manager command does on the pod (the layout startup.sh creates)."""

from __future__ import annotations

import json
import shlex
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from infra import SshError
from infra.podstatus import render
from infra.ssh_client import SshTarget, attached, remote_command, run, ssh_argv, stream

SERVICES = ("comfyui", "backend", "gpu_server", "telegram_bot")
LOG_NAMES = (*SERVICES, "supervisord")
BACKUP_PATHS = (".env", "config", "run/backup-genpod.sqlite3", "models/.genpod-state.json")
# Consistent copy of the SQLite job store (WAL) before it is archived.
_DB_SNAPSHOT = (
    "import sqlite3,sys,pathlib;p=pathlib.Path(sys.argv[1]);"
    "p.exists() and sqlite3.connect(p).backup(sqlite3.connect(sys.argv[2]))"
)


def check_service(name: str, *, allow_all: bool = False, names: tuple[str, ...] = SERVICES) -> str:
    """Only known services reach the pod's command line."""
    if (allow_all and name == "all") or name in names:
        return name
    choices = ", ".join([*names, "all"] if allow_all else names)
    raise SshError(f"unknown service {name!r}; choose one of: {choices}")


def _pod(target: SshTarget, *args: str) -> str:
    conn = target.conn
    return remote_command(
        conn, [conn.python_exe, "-m", "infra.pod", "--workspace", conn.workspace, *args]
    )


def _ctl(target: SshTarget, *args: str) -> str:
    conn = target.conn
    conf = f"{conn.workspace}/config/supervisord.conf"
    return remote_command(
        conn, [conn.python_exe, "-m", "supervisor.supervisorctl", "-c", conf, *args]
    )


def status_data(target: SshTarget) -> dict[str, Any]:
    """The pod's status as data (infra.pod status --json run remotely)."""
    proc = run(target, _pod(target, "status", "--json"), timeout=60)
    try:
        data: dict[str, Any] = json.loads(proc.stdout)
    except ValueError as exc:
        err = proc.stderr.decode(errors="replace").strip()[-500:]
        raise SshError(
            f"the pod did not answer with a status (is genpod installed?): {err}"
        ) from exc
    return data


def status(target: SshTarget) -> int:
    """Print supervisor states, ports, health, GPU and disk; 1 when not healthy."""
    data = status_data(target)
    print(render(data))
    return 0 if data["healthy"] else 1


def exec_(target: SshTarget, words: list[str]) -> int:
    """Run a command in the workspace; one argument is a command line, several are argv."""
    line = words[0] if len(words) == 1 else shlex.join(words)
    return stream(target, f"cd {shlex.quote(target.conn.workspace)} && {line}")


def shell(target: SshTarget) -> int:
    """Interactive login shell in the workspace."""
    if target.conn.type == "runpod-proxy":
        return stream(target, None, tty=True)
    tty = sys.stdin.isatty()
    return stream(target, f"cd {shlex.quote(target.conn.workspace)} && exec bash -l", tty=tty)


def restart(target: SshTarget, service: str) -> int:
    """supervisorctl restart <service|all>."""
    proc = run(target, _ctl(target, "restart", check_service(service, allow_all=True)), timeout=120)
    sys.stdout.write(proc.stdout.decode(errors="replace"))
    return proc.returncode


def logs(target: SshTarget, service: str, *, follow: bool, lines: int) -> int:
    """tail the service's log under $WORKSPACE/logs (-F follows across rotation)."""
    name = check_service(service, names=LOG_NAMES)
    path = f"{target.conn.workspace}/logs/{name}.log"
    argv = ["tail", "-n", str(max(0, lines)), *(["-F"] if follow else []), path]
    return stream(target, remote_command(target.conn, argv), tty=follow)


def tunnel(target: SshTarget, local: int, remote: int) -> int:
    """Forward 127.0.0.1:local here to 127.0.0.1:remote on the pod until interrupted."""
    argv = ssh_argv(target, None)
    forward = [
        "-N",
        "-o",
        "ExitOnForwardFailure=yes",
        "-L",
        f"127.0.0.1:{local}:127.0.0.1:{remote}",
    ]
    print(
        f"tunnel: http://127.0.0.1:{local} -> pod 127.0.0.1:{remote} (Ctrl-C to stop)", flush=True
    )
    code, _ = attached([*argv[:-1], *forward, argv[-1]])
    return 0 if code == 130 else code


def backup(target: SshTarget, out_dir: Path, *, with_models: bool) -> Path:
    """Archive .env, configs, a DB snapshot and the manifest state (weights only if asked)."""
    conn = target.conn
    db = f"{conn.workspace}/data/genpod.sqlite3"
    snap = f"{conn.workspace}/run/backup-genpod.sqlite3"
    run(target, remote_command(conn, [conn.python_exe, "-c", _DB_SNAPSHOT, db, snap]), timeout=300)
    paths = [*BACKUP_PATHS, *(["models"] if with_models else [])]
    keep = " ".join(shlex.quote(p) for p in paths)
    script = (
        f"cd {shlex.quote(conn.workspace)} && set -- && for p in {keep}; do "
        '[ -e "$p" ] && set -- "$@" "$p"; done; '
        f'tar czf - "$@" -C {shlex.quote(conn.repo_dir)} config/models.yaml'
    )
    proc = run(target, script, timeout=None)
    if proc.returncode != 0:
        raise SshError(f"backup failed on the pod: {proc.stderr.decode(errors='replace').strip()}")
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = out_dir / f"genpod-{conn.host}-{stamp}.tar.gz"
    out.write_bytes(proc.stdout)
    out.chmod(0o600)  # it holds .env secrets
    print(f"backup: {out} ({len(proc.stdout)} bytes)")
    return out


def monitor(target: SshTarget, interval: float, count: int | None) -> int:
    """Print status every interval seconds (count times, or until Ctrl-C)."""
    done, code = 0, 0
    try:
        while count is None or done < count:
            data = status_data(target)
            if sys.stdout.isatty():
                print("\033[2J\033[H", end="")
            print(f"--- {datetime.now(UTC):%H:%M:%S} UTC ---\n{render(data)}", flush=True)
            code = 0 if data["healthy"] else 1
            done += 1
            if count is None or done < count:
                time.sleep(interval)
    except KeyboardInterrupt:
        pass
    return code
