"""A throwaway PostgreSQL cluster on a free loopback port, in a temp dir owned by postgres."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import pytest

from tests.support.procs import free_port


def missing(reason: str) -> NoReturn:
    """Fail in CI (the component is part of the suite there), skip elsewhere with the reason."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{reason} (CI=true: install it with scripts/install-system-deps.sh)")
    pytest.skip(reason)


def _bindir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def _as_postgres(args: list[str]) -> list[str]:
    """initdb refuses root: run the server tools as the postgres OS user when we are root."""
    if os.geteuid() != 0:
        return args
    return ["runuser", "-u", "postgres", "--", *args]


def _run(args: list[str]) -> None:
    done = subprocess.run(
        _as_postgres(args), check=False, capture_output=True, text=True, timeout=60
    )
    if done.returncode != 0:
        raise RuntimeError(f"{args[0]} failed:\n{done.stdout}\n{done.stderr}")


@dataclass(frozen=True)
class PgCluster:
    """A running cluster: trust auth for user postgres on 127.0.0.1:port."""

    bindir: Path
    port: int

    def url(self, dbname: str) -> str:
        """The SQLAlchemy URL of one database of this cluster."""
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{dbname}"

    def create_database(self, dbname: str) -> str:
        """Create an empty database; return its URL."""
        createdb = str(self.bindir / "createdb")
        _run([createdb, "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", dbname])
        return self.url(dbname)


@contextmanager
def postgres_cluster() -> Iterator[PgCluster]:
    """Start a cluster in a temp dir, yield it, stop it (and delete its files) after."""
    bindir = _bindir()
    if bindir is None:
        missing("PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin")
    if os.geteuid() == 0:
        try:
            pw = pwd.getpwnam("postgres")
        except KeyError:
            missing("running as root but there is no postgres OS user to run initdb")
    root = Path(tempfile.mkdtemp(prefix="genpod-pg-"))
    if os.geteuid() == 0:
        os.chown(root, pw.pw_uid, pw.pw_gid)
    data, port = root / "data", free_port()
    _run([str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync"])
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
    options += " -c synchronous_commit=off -c full_page_writes=off"
    log = root / "server.log"
    _run([str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "start"])
    try:
        yield PgCluster(bindir, port)
    finally:
        _run([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"])
        shutil.rmtree(root, ignore_errors=True)
