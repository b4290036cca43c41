"""ssh_manager deploy: code update, restart, health check and rollback on a loopback pod."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.infra.conftest import Pod, Sshd, write_ssh_config
from tests.support.procs import REPO

SCRIPT = REPO / "infra" / "ssh_manager.py"
GOOD = '#!/usr/bin/env bash\nexec bash {repo}/startup.sh "$@"\n'
# A release whose start-up leaves the backend stopped: health fails, deploy must roll back.
BAD = (
    "#!/usr/bin/env bash\n"
    '"$VENV_DIR/bin/python" -m supervisor.supervisorctl '
    '-c "$WORKSPACE/config/supervisord.conf" stop backend\n'
)


def _git(repo: Path, *args: str) -> str:
    cmd = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com", *args]
    return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip()


def _commit(repo: Path, script: str, note: str) -> str:
    (repo / "startup.sh").write_text(script.format(repo=REPO))
    (repo / "RELEASE").write_text(note)
    _git(repo, "add", "startup.sh", "RELEASE")
    _git(repo, "commit", "-q", "-m", note)
    return _git(repo, "rev-parse", "HEAD")


@pytest.fixture
def repos(tmp_path: Path) -> tuple[Path, Path]:
    """An upstream repo and the pod's clone of it (the pod pulls from `origin`)."""
    upstream = tmp_path / "upstream"
    upstream.mkdir()
    _git(upstream, "init", "-q", "-b", "main")
    _commit(upstream, GOOD, "v1")
    subprocess.run(["git", "clone", "-q", str(upstream), str(tmp_path / "podrepo")], check=True)
    return upstream, tmp_path / "podrepo"


def _deploy(cfg: Path, *args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, str(SCRIPT), "--config", str(cfg), "deploy", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=240, check=False)


def test_deploy_pulls_restarts_and_rolls_back_a_bad_release(
    tmp_path: Path, sshd: Sshd, pod: Pod, repos: tuple[Path, Path]
) -> None:
    """A healthy release goes live (exit 0); an unhealthy one is rolled back (exit 1)."""
    upstream, podrepo = repos
    cfg = write_ssh_config(tmp_path / "c.json", sshd, pod, repo=str(podrepo))
    good = _commit(upstream, GOOD, "v2")
    result = _deploy(cfg, "--timeout", "60")
    assert result.returncode == 0, result.stdout + result.stderr
    assert _git(podrepo, "rev-parse", "HEAD") == good
    _commit(upstream, BAD, "v3-broken")
    result = _deploy(cfg, "--timeout", "4")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "rolling back" in result.stdout
    assert _git(podrepo, "rev-parse", "HEAD") == good
    assert "RUNNING" in pod.supervisorctl("status", "backend")


def test_deploy_push_sends_this_checkout(
    tmp_path: Path, sshd: Sshd, pod: Pod, repos: tuple[Path, Path]
) -> None:
    """deploy --push pushes the local HEAD to the pod over ssh and checks it out there."""
    _, podrepo = repos
    cfg = write_ssh_config(tmp_path / "c.json", sshd, pod, repo=str(podrepo))
    result = _deploy(cfg, "--push", "--timeout", "60")
    assert result.returncode == 0, result.stdout + result.stderr
    live = _git(podrepo, "rev-parse", "HEAD")
    assert f"-> {live[:12]} (genpod-deploy)" in result.stdout
    # Others may commit meanwhile: what went live must be this checkout's HEAD or its ancestor.
    subprocess.run(
        ["git", "-C", str(REPO), "merge-base", "--is-ancestor", live, "HEAD"], check=True
    )
