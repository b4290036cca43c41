"""Operate a genpod pod over ssh: python infra/ssh_manager.py <command> (see --help).

Config: infra/ssh_config.json (git-ignored; copy ssh_config.example.json). Works the same
from Windows PowerShell, macOS and Linux: only the OpenSSH client is needed.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repo importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from infra import InfraError, ssh_ops
from infra.deploy import deploy
from infra.ssh_client import SshTarget, target_for
from infra.ssh_config import DEFAULT_CONFIG, load_config


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ssh_manager.py", description=__doc__.splitlines()[0])
    default_cfg = Path(os.environ.get("GENPOD_SSH_CONFIG", DEFAULT_CONFIG))
    p.add_argument("--config", type=Path, default=default_cfg)
    p.add_argument("--host", help="connection name in the config (default: its `default`)")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("shell", help="interactive shell in the workspace")
    ex = sub.add_parser("exec", help="run a command in the workspace")
    ex.add_argument("words", nargs=argparse.REMAINDER)
    rs = sub.add_parser("restart", help="restart a service or all")
    rs.add_argument("service")
    lg = sub.add_parser("logs", help="tail a service's log")
    lg.add_argument("service")
    lg.add_argument("-f", "--follow", action="store_true")
    lg.add_argument("-n", "--lines", type=int, default=100)
    sub.add_parser("status", help="supervisor, ports, /health, GPU, disk")
    tn = sub.add_parser("tunnel", help="forward a local port to a pod port")
    tn.add_argument("local", type=int)
    tn.add_argument("remote", type=int)
    dp = sub.add_parser("deploy", help="update code, install, restart, health-check, rollback")
    dp.add_argument("--ref", help="git ref to fetch and deploy (default origin/main)")
    dp.add_argument("--push", action="store_true", help="push this checkout's HEAD instead")
    dp.add_argument("--timeout", type=float, default=180.0, help="seconds to become healthy")
    bk = sub.add_parser("backup", help="configs, .env, DB snapshot, manifest state")
    bk.add_argument("--out", type=Path, default=Path("backups"))
    bk.add_argument("--with-models", action="store_true", help="include model weights")
    mo = sub.add_parser("monitor", help="live status")
    mo.add_argument("--interval", type=float, default=5.0)
    mo.add_argument("--count", type=int, default=None, help="stop after N refreshes")
    return p


def _dispatch(args: argparse.Namespace, target: SshTarget) -> int:  # noqa: PLR0911  # one return per command
    repo = str(Path(__file__).resolve().parents[1])
    match args.command:
        case "shell":
            return ssh_ops.shell(target)
        case "exec":
            words = args.words[1:] if args.words[:1] == ["--"] else args.words
            if not words:
                raise InfraError("exec needs a command, e.g. exec -- df -h")
            return ssh_ops.exec_(target, words)
        case "restart":
            return ssh_ops.restart(target, args.service)
        case "logs":
            return ssh_ops.logs(target, args.service, follow=args.follow, lines=args.lines)
        case "tunnel":
            return ssh_ops.tunnel(target, args.local, args.remote)
        case "deploy":
            push_from = repo if args.push else None
            return deploy(target, ref=args.ref, push_from=push_from, timeout=args.timeout)
        case "backup":
            ssh_ops.backup(target, args.out, with_models=args.with_models)
            return 0
        case "monitor":
            return ssh_ops.monitor(target, args.interval, args.count)
        case _:
            return ssh_ops.status(target)


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: returns the exit code; errors print one sentence, no traceback."""
    args = _parser().parse_args(argv)
    if hasattr(signal, "SIGTERM") and sys.platform != "win32":
        signal.signal(signal.SIGTERM, _interrupt)  # stop like Ctrl-C: ssh children end too
    try:
        config = load_config(args.config)
        target = target_for(config, config.connection(args.host))
        return _dispatch(args, target)
    except InfraError as exc:
        print(f"ssh_manager: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
