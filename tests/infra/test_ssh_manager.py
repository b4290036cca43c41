"""ssh_manager against a real sshd on loopback and a pod started by startup.sh."""

from __future__ import annotations

import subprocess
import sys
import tarfile
import time
from pathlib import Path

import httpx
import pytest

from tests.infra.conftest import Pod, Sshd, write_ssh_config
from tests.support.procs import REPO, free_port

SCRIPT = REPO / "infra" / "ssh_manager.py"


@pytest.fixture
def cfg(tmp_path: Path, sshd: Sshd, pod: Pod) -> Path:
    """A config file for the loopback pod."""
    return write_ssh_config(tmp_path / "ssh_config.json", sshd, pod)


def manager(
    cfg: Path, *args: str, stdin: str | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run `python infra/ssh_manager.py --config cfg ...` as an operator would."""
    cmd = [sys.executable, str(SCRIPT), "--config", str(cfg), *args]
    return subprocess.run(
        cmd, input=stdin, capture_output=True, text=True, timeout=timeout, check=False
    )


def _running(fragment: str) -> bool:
    """Whether any process's command line contains fragment (read from /proc)."""
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if fragment in cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace"):
                return True
        except OSError:
            continue
    return False


def _gone(fragment: str, timeout: float = 5) -> bool:
    """True once no process's command line contains fragment."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _running(fragment):
            return True
        time.sleep(0.1)
    return False


def test_status_shows_every_service_healthy(cfg: Path) -> None:
    """status over ssh lists comfyui, backend and gpu_server as OK, with disk use; exit 0."""
    result = manager(cfg, "status")
    assert result.returncode == 0, result.stdout + result.stderr
    for name in ("comfyui", "backend", "gpu_server"):
        assert f"OK   {name}" in result.stdout
    assert "% used" in result.stdout
    assert result.stdout.rstrip().endswith("healthy")


def test_first_connection_records_the_host_key(cfg: Path, sshd: Sshd) -> None:
    """accept-new: the pod's host key lands in the configured known_hosts file."""
    assert manager(cfg, "exec", "--", "true").returncode == 0
    known = cfg.parent / "known_hosts"
    host_pub = (sshd.host_key.with_suffix(".pub")).read_text().split()[1]
    find = ["ssh-keygen", "-F", f"[127.0.0.1]:{sshd.port}", "-f", str(known)]
    found = subprocess.run(find, capture_output=True, text=True, check=False)
    assert found.returncode == 0
    assert host_pub in found.stdout


def test_exec_runs_in_workspace_and_quotes_multiple_words(cfg: Path, pod: Pod) -> None:
    """One argument is a command line; several are quoted so `;` cannot start a new command."""
    one = manager(cfg, "exec", "--", "pwd")
    assert one.stdout.strip() == str(pod.workspace)
    marker = pod.workspace / "injected"
    many = manager(cfg, "exec", "--", "echo", f"a; touch {marker}")
    assert many.stdout.strip() == f"a; touch {marker}"
    assert not marker.exists()


def test_unknown_service_is_refused_before_ssh(cfg: Path, pod: Pod) -> None:
    """restart/logs accept only known services; a crafted name never reaches the pod."""
    marker = pod.workspace / "evil"
    for cmd in (["restart", f"backend; touch {marker}"], ["logs", "../../etc/passwd"]):
        result = manager(cfg, *cmd)
        assert result.returncode == 2
        assert "unknown service" in result.stderr
    assert not marker.exists()


def test_restart_gives_the_service_a_new_process(cfg: Path, pod: Pod) -> None:
    """restart gpu_server goes through supervisorctl; the worker comes back with a new PID."""
    pid_file = pod.workspace / "run" / "gpu_server.pid"
    before = pid_file.read_text()
    result = manager(cfg, "restart", "gpu_server")
    assert result.returncode == 0, result.stderr
    assert "gpu_server: started" in result.stdout
    assert pid_file.read_text() != before


def test_logs_tail_and_follow(cfg: Path, pod: Pod) -> None:
    """logs -n prints the last lines; logs -f streams new lines and stops cleanly."""
    log = pod.workspace / "logs" / "backend.log"
    with log.open("a") as fh:
        fh.write("marker-one\n")
    tail = manager(cfg, "logs", "backend", "-n", "1")
    assert tail.stdout == "marker-one\n"
    cmd = [sys.executable, str(SCRIPT), "--config", str(cfg), "logs", "backend", "-f", "-n", "0"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    try:
        time.sleep(1.5)  # let tail -F start before the line is written
        with log.open("a") as fh:
            fh.write("marker-two\n")
        assert proc.stdout is not None
        assert proc.stdout.readline().rstrip("\r\n") == "marker-two"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()
    # Stopping the manager ends ssh, and the pod's tail with it (no orphans either side).
    assert _gone(f"tail -n 0 -F {log}")


def test_tunnel_forwards_a_local_port_to_the_backend(cfg: Path, pod: Pod) -> None:
    """tunnel L R reaches the pod's 127.0.0.1:R at 127.0.0.1:L; stopping it ends ssh."""
    local = free_port()
    cmd = [
        sys.executable,
        str(SCRIPT),
        "--config",
        str(cfg),
        "tunnel",
        str(local),
        str(pod.ports["backend"]),
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    try:
        deadline, code = time.monotonic() + 15, None
        while time.monotonic() < deadline and code is None:
            try:
                code = httpx.get(f"http://127.0.0.1:{local}/health", timeout=2).status_code
            except httpx.HTTPError:
                time.sleep(0.2)
        assert code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert _gone(f"127.0.0.1:{local}:127.0.0.1")


def test_backup_holds_configs_db_and_manifest_but_no_weights(
    cfg: Path, tmp_path: Path, pod: Pod
) -> None:
    """backup writes a private tar.gz with .env, configs, a DB snapshot and models.yaml."""
    weights = pod.workspace / "models" / "checkpoints" / "big.safetensors"
    weights.write_bytes(b"w" * 1000)
    result = manager(cfg, "backup", "--out", str(tmp_path / "bk"))
    assert result.returncode == 0, result.stderr
    (archive,) = (tmp_path / "bk").glob("genpod-*.tar.gz")
    assert archive.stat().st_mode & 0o077 == 0
    with tarfile.open(archive) as tar:
        names = set(tar.getnames())
    assert {".env", "config/supervisord.conf", "config/models.yaml"} <= names
    assert "run/backup-genpod.sqlite3" in names
    assert not any(name.startswith("models/checkpoints") for name in names)


def test_monitor_refreshes_count_times(cfg: Path) -> None:
    """monitor --count 2 prints two status snapshots and stops."""
    result = manager(cfg, "monitor", "--interval", "0.2", "--count", "2")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count(" UTC ---") == 2
    assert result.stdout.count("OK   backend") == 2


def test_shell_opens_in_the_workspace(cfg: Path, pod: Pod) -> None:
    """shell starts a login shell in the workspace (commands fed on stdin here)."""
    result = manager(cfg, "shell", stdin="pwd\nexit 0\n")
    assert result.returncode == 0, result.stderr
    assert str(pod.workspace) in result.stdout


def test_missing_key_is_a_clear_error(tmp_path: Path, sshd: Sshd, pod: Pod) -> None:
    """A key path that does not exist gives the ssh-keygen command to create it."""
    cfg = write_ssh_config(tmp_path / "c.json", sshd, pod, key=str(tmp_path / "nokey"))
    result = manager(cfg, "status")
    assert result.returncode == 2
    assert "ssh-keygen -t ed25519" in result.stderr
    assert "Traceback" not in result.stderr


def test_key_readable_by_others_is_a_clear_error(tmp_path: Path, sshd: Sshd, pod: Pod) -> None:
    """A private key with group/other permissions is refused with the chmod to fix it."""
    key = tmp_path / "loose_key"
    key.write_bytes(sshd.key.read_bytes())
    key.chmod(0o644)
    result = manager(write_ssh_config(tmp_path / "c.json", sshd, pod, key=str(key)), "status")
    assert result.returncode == 2
    assert f"chmod 600 {key}" in result.stderr


def test_unreachable_host_is_a_clear_error(tmp_path: Path, sshd: Sshd, pod: Pod) -> None:
    """A port nobody listens on gives 'cannot reach' with what to check."""
    cfg = write_ssh_config(tmp_path / "c.json", sshd, pod, port=free_port())
    result = manager(cfg, "status")
    assert result.returncode == 2
    assert "cannot reach" in result.stderr


def test_changed_host_key_is_refused_with_the_fix(tmp_path: Path, sshd: Sshd, pod: Pod) -> None:
    """A known_hosts entry with another key (pod recreated) stops ssh and names ssh-keygen -R."""
    cfg = write_ssh_config(tmp_path / "c.json", sshd, pod)
    other = tmp_path / "other"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    pub = other.with_suffix(".pub").read_text().split()
    (tmp_path / "known_hosts").write_text(f"[127.0.0.1]:{sshd.port} {pub[0]} {pub[1]}\n")
    result = manager(cfg, "exec", "--", "true")
    assert result.returncode == 2
    assert "host key" in result.stderr
    assert "ssh-keygen -R" in result.stderr
