"""OpenSSH through subprocess: argv building, remote quoting, readable errors.

Everything is an argument list (never a local shell), so the client side behaves the same
from Windows PowerShell, macOS and Linux. Remote commands are built with shlex.quote
because the pod's login shell parses them.
"""

from __future__ import annotations

import re
import shlex
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from infra import SshError
from infra.ssh_config import Connection, SshConfig, check_key, known_hosts_file

SSH_FAILED = 255
_ERRORS: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(r"REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed"),
        "the host key of {target} changed or does not match {known}. A RunPod pod that was "
        "recreated gets a new key (and often a new IP/port). If you expect that, remove the old "
        'entry with: ssh-keygen -R "{hostspec}" -f "{known}" and retry',
    ),
    (
        re.compile(r"Permission denied \(publickey"),
        "the pod refused key {key}: add its .pub file to the pod's authorized keys "
        "(RunPod: Settings > SSH Public Keys, then restart the pod)",
    ),
    (
        re.compile(r"bad permissions|UNPROTECTED PRIVATE KEY", re.IGNORECASE),
        "ssh refused key {key} because others can read it; fix with: chmod 600 {key}",
    ),
    (
        re.compile(
            r"Connection refused|timed out|No route to host|Could not resolve|"
            r"Network is unreachable|Connection closed by remote host|kex_exchange_identification"
        ),
        "cannot reach {target}: is the pod running, and are its IP and TCP port (RunPod: "
        "Connect > SSH over exposed TCP) the ones in the config?",
    ),
]


@dataclass(frozen=True)
class SshTarget:
    """A resolved connection: the ssh argv prefix plus what error messages mention."""

    conn: Connection
    base: list[str]
    known: str

    @property
    def hostspec(self) -> str:
        """The known_hosts name of the host."""
        host = self.conn.host
        return host if self.conn.port == 22 else f"[{host}]:{self.conn.port}"


def target_for(config: SshConfig, conn: Connection) -> SshTarget:
    """Check the key and build the ssh options every call uses."""
    key = check_key(conn.key)
    known = known_hosts_file(config)
    base = [
        config.ssh,
        "-i", str(key),
        "-p", str(conn.port),
        "-o", "IdentitiesOnly=yes",
        "-o", "StrictHostKeyChecking=accept-new",
        "-o", f"UserKnownHostsFile={known}",
        "-o", f"ConnectTimeout={config.connect_timeout_s}",
        "-o", "ServerAliveInterval=15",
        "-o", "ServerAliveCountMax=4",
        "-o", "LogLevel=ERROR",
    ]  # fmt: skip
    if conn.jump:
        base += ["-J", conn.jump]
    return SshTarget(conn, base, str(known))


def remote_command(conn: Connection, argv: Sequence[str], env: Mapping[str, str] = {}) -> str:
    """A shell line for the pod: cd to the repo, set env, run argv, every word quoted."""
    pairs = {"WORKSPACE": conn.workspace, **conn.env, **env}
    assigns = [f"{key}={shlex.quote(value)}" for key, value in pairs.items()]
    return f"cd {shlex.quote(conn.repo_dir)} && env {' '.join(assigns)} {shlex.join(argv)}"


def explain(target: SshTarget, stderr: str) -> SshError:
    """Turn ssh's stderr into an error that says what to do."""
    values = {
        "target": f"{target.conn.user}@{target.conn.host}:{target.conn.port}",
        "known": target.known,
        "hostspec": target.hostspec,
        "key": str(target.conn.key.expanduser()),
    }
    for pattern, message in _ERRORS:
        if pattern.search(stderr):
            return SshError(message.format(**values))
    detail = stderr.strip().splitlines()[-1] if stderr.strip() else "no message"
    return SshError(f"ssh to {values['target']} failed: {detail}")


def ssh_argv(target: SshTarget, command: str | None, *, tty: bool = False) -> list[str]:
    """Full argv: options, destination, then the remote command line (if any)."""
    if target.conn.type == "runpod-proxy" and command is not None:
        raise SshError(
            "RunPod's ssh proxy only gives interactive shells; use a 'direct' connection "
            "(the pod's public IP and exposed TCP port 22) for this command"
        )
    # -tt: a remote pty even when stdin is not a terminal, so the remote command gets SIGHUP
    # (and stops) when the connection goes away.
    argv = [*target.base, "-tt" if tty else "-T", f"{target.conn.user}@{target.conn.host}"]
    return argv if command is None else [*argv, "--", command]


def run(
    target: SshTarget, command: str, *, stdin: bytes | None = None, timeout: float | None = None
) -> subprocess.CompletedProcess[bytes]:
    """Run a remote command, capturing output; ssh-level failures become SshError."""
    argv = ssh_argv(target, command)
    try:
        proc = subprocess.run(argv, input=stdin, capture_output=True, timeout=timeout, check=False)  # noqa: S603
    except FileNotFoundError as exc:
        raise SshError(f"{argv[0]} not found: install the OpenSSH client") from exc
    except subprocess.TimeoutExpired as exc:
        raise SshError(f"ssh command timed out after {timeout}s") from exc
    if proc.returncode == SSH_FAILED:
        raise explain(target, proc.stderr.decode(errors="replace"))
    return proc


def stream(target: SshTarget, command: str | None, *, tty: bool = False) -> int:
    """Run with the terminal attached (shell, logs -f); returns the remote exit code."""
    argv = ssh_argv(target, command, tty=tty)
    # An interactive shell writes its prompt to stderr, so only non-tty runs capture it.
    err = None if tty or command is None else subprocess.PIPE
    code, stderr = attached(argv, stderr=err)
    if code == SSH_FAILED:
        raise explain(target, stderr)
    if stderr:
        print(stderr, end="", flush=True)
    return code


def attached(argv: list[str], *, stderr: int | None = None) -> tuple[int, str]:
    """Run ssh in the foreground; Ctrl-C or SIGTERM here stops ssh too, never orphaning it."""
    try:
        proc = subprocess.Popen(argv, stderr=stderr)  # noqa: S603
    except FileNotFoundError as exc:
        raise SshError(f"{argv[0]} not found: install the OpenSSH client") from exc
    try:
        _, err = proc.communicate()
    except KeyboardInterrupt:
        proc.terminate()
        _, err = proc.communicate()
        return 130, ""
    return proc.returncode, err.decode(errors="replace") if err else ""
