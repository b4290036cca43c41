"""`python -m infra.models sync|list|verify`: fetch and check the files in config/models.yaml."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import httpx
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from infra import InfraError
from infra.downloader import Downloader, Outcome, fetch_all, file_sha256
from infra.manifest import DEFAULT_MANIFEST, ModelEntry, load_manifest, read_state, write_state


def default_models_dir() -> Path:
    """MODELS_DIR, else $WORKSPACE/models, else /workspace/models."""
    if os.environ.get("MODELS_DIR"):
        return Path(os.environ["MODELS_DIR"])
    return Path(os.environ.get("WORKSPACE", "/workspace")) / "models"


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=console,
    )


async def _sync(args: argparse.Namespace, console: Console) -> int:
    entries = load_manifest(args.manifest).select(args.names)
    known = read_state(args.models_dir)
    timeout = httpx.Timeout(30.0, read=120.0)
    async with httpx.AsyncClient(follow_redirects=True, timeout=timeout) as client:
        with _progress(console) as progress:
            downloader = Downloader(
                client, args.models_dir, env=os.environ, progress=progress, attempts=args.attempts
            )
            outcomes = await fetch_all(downloader, entries, known, args.jobs)
    for outcome in outcomes:
        if outcome.record is not None:
            known[outcome.entry.name] = outcome.record
    write_state(args.models_dir, known)
    return _report_sync(outcomes, console)


def _report_sync(outcomes: list[Outcome], console: Console) -> int:
    failed = 0
    for out in outcomes:
        if out.status == "failed":
            failed += 1
            console.print(f"[red]FAILED[/red] {out.message}")
        elif out.record is not None and not out.record.verified:
            console.print(
                f"[yellow]UNVERIFIED[/yellow] {out.entry.name}: manifest has no sha256; "
                f"computed {out.record.sha256} (size {out.record.size}); check it and fill "
                "it into config/models.yaml"
            )
        else:
            console.print(f"[green]OK[/green] {out.entry.name} ({out.status})")
    return 1 if failed else 0


def _verify_one(entry: ModelEntry, models_dir: Path) -> tuple[str, str]:
    target = entry.target(models_dir)
    if not target.is_file():
        partial = target.with_name(target.name + ".part").exists()
        return "missing", "partial download present" if partial else str(target)
    size = target.stat().st_size
    if entry.size is not None and size != entry.size:
        return "corrupt", f"size {size}, expected {entry.size}"
    sha = file_sha256(target)
    if entry.sha256 is None:
        return "unverified", f"no sha256 in manifest; computed {sha}"
    if sha != entry.sha256:
        return "corrupt", f"sha256 {sha}, expected {entry.sha256}"
    return "ok", sha


def _verify(args: argparse.Namespace, console: Console) -> int:
    bad = 0
    for entry in load_manifest(args.manifest).select(args.names):
        state, detail = _verify_one(entry, args.models_dir)
        colour = {"ok": "green", "unverified": "yellow"}.get(state, "red")
        console.print(f"[{colour}]{state.upper()}[/{colour}] {entry.name}: {detail}")
        bad += state in ("missing", "corrupt")
    if bad:
        console.print(f"[red]{bad} model file(s) missing or corrupt[/red]")
    return 1 if bad else 0


def _list(args: argparse.Namespace, console: Console) -> int:
    table = Table("name", "folder/file", "size", "sha256", "styles", "licence")
    for entry in load_manifest(args.manifest).models:
        size = f"{entry.size / 1e9:.2f} GB" if entry.size else "?"
        sha = entry.sha256[:12] if entry.sha256 else "[yellow]unset: operator[/yellow]"
        table.add_row(
            entry.name,
            f"{entry.folder}/{entry.filename}",
            size,
            sha,
            ",".join(entry.styles),
            entry.license,
        )
    console.print(table)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """Command-line interface of the model tool."""
    parser = argparse.ArgumentParser(prog="python -m infra.models", description=__doc__)
    parser.add_argument("--manifest", type=Path, default=DEFAULT_MANIFEST)
    parser.add_argument("--models-dir", type=Path, default=None, help="default $WORKSPACE/models")
    sub = parser.add_subparsers(dest="command", required=True)
    sync = sub.add_parser("sync", help="download missing files, resume partial ones, verify")
    sync.add_argument("names", nargs="*", help="only these models (default: all)")
    sync.add_argument("--jobs", type=int, default=3, help="parallel downloads")
    sync.add_argument("--attempts", type=int, default=5, help="tries per file (resuming)")
    sub.add_parser("list", help="print the manifest")
    verify = sub.add_parser("verify", help="hash every file; exit 1 if any is missing or corrupt")
    verify.add_argument("names", nargs="*")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    args = build_parser().parse_args(argv)
    args.models_dir = args.models_dir or default_models_dir()
    console = Console(highlight=False, soft_wrap=True)
    try:
        if args.command == "sync":
            return asyncio.run(_sync(args, console))
        if args.command == "verify":
            return _verify(args, console)
        return _list(args, console)
    except InfraError as exc:
        console.print(f"[red]error:[/red] {exc}")
        return 2


if __name__ == "__main__":
    sys.exit(main())
