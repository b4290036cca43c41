"""Resumable, verified model downloads: `.part` file, HTTP Range, sha256, atomic rename."""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import httpx
from rich.progress import Progress, TaskID

from infra import DownloadError
from infra.manifest import HashRecord, ModelEntry

CHUNK = 1 << 20
Status = Literal["present", "downloaded", "failed"]


class _Retryable(Exception):
    """A transfer that may succeed when resumed (cut connection, 5xx)."""


@dataclass(frozen=True)
class Outcome:
    """What sync did for one model."""

    entry: ModelEntry
    status: Status
    record: HashRecord | None = None
    message: str = ""


def file_sha256(path: Path) -> str:
    """sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def make_record(entry: ModelEntry, path: Path, sha256: str) -> HashRecord:
    """A hash record for path; verified only when the manifest has a hash and it matches."""
    stat = path.stat()
    verified = entry.sha256 is not None and entry.sha256 == sha256
    return HashRecord(
        sha256=sha256, size=stat.st_size, mtime_ns=stat.st_mtime_ns, verified=verified
    )


def auth_headers(entry: ModelEntry, env: Mapping[str, str]) -> dict[str, str]:
    """Bearer header for gated sources when the entry's token variable is set."""
    token = env.get(entry.token_env, "") if entry.token_env else ""
    return {"Authorization": f"Bearer {token}"} if token else {}


class Downloader:
    """Fetches manifest entries into models_dir, one `.part` file per model."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        models_dir: Path,
        *,
        env: Mapping[str, str],
        progress: Progress | None = None,
        attempts: int = 5,
        retry_delay: float = 0.5,
    ) -> None:
        self._client = client
        self._dir = models_dir
        self._env = env
        self._progress = progress
        self._attempts = attempts
        self._delay = retry_delay

    async def fetch(self, entry: ModelEntry, known: HashRecord | None) -> Outcome:
        """Make sure entry's file is present and checked; never raises for one bad model."""
        target = entry.target(self._dir)
        try:
            present = await asyncio.to_thread(self._present, entry, target, known)
            if present is not None:
                return Outcome(entry, "present", present)
            record = await self._download(entry, target)
        except DownloadError as exc:
            return Outcome(entry, "failed", message=str(exc))
        return Outcome(entry, "downloaded", record)

    @staticmethod
    def _present(entry: ModelEntry, target: Path, known: HashRecord | None) -> HashRecord | None:
        """The record of a good finished file, or None after removing a bad one."""
        if not target.is_file():
            return None
        stat = target.stat()
        same_file = known and known.size == stat.st_size and known.mtime_ns == stat.st_mtime_ns
        if known and same_file and entry.sha256 in (None, known.sha256):
            return make_record(entry, target, known.sha256)
        sha = file_sha256(target)
        if entry.sha256 is None or entry.sha256 == sha:
            return make_record(entry, target, sha)
        target.unlink()  # corrupt: fetch again rather than keep a file that looks complete
        return None

    async def _download(self, entry: ModelEntry, target: Path) -> HashRecord:
        """Download with resume and retries, then verify and rename into place."""
        target.parent.mkdir(parents=True, exist_ok=True)
        part = target.with_name(target.name + ".part")
        task = self._progress.add_task(entry.name, total=entry.size) if self._progress else None
        for attempt in range(1, self._attempts + 1):
            try:
                await self._transfer(entry, part, task)
                break
            except _Retryable as exc:
                if attempt == self._attempts:
                    raise DownloadError(
                        f"{entry.name}: gave up after {attempt} tries: {exc}"
                    ) from exc
                await asyncio.sleep(self._delay * attempt)
        return await asyncio.to_thread(self._finish, entry, part, target)

    @staticmethod
    def _finish(entry: ModelEntry, part: Path, target: Path) -> HashRecord:
        """Check size and hash of the .part file; rename it only when it is right."""
        sha = file_sha256(part)
        size = part.stat().st_size
        bad_size = entry.size is not None and size != entry.size
        if bad_size or (entry.sha256 is not None and sha != entry.sha256):
            part.unlink()
            raise DownloadError(
                f"{entry.name}: downloaded file is corrupt (size {size}, sha256 {sha}); removed"
            )
        os.replace(part, target)
        return make_record(entry, target, sha)

    async def _transfer(self, entry: ModelEntry, part: Path, task: TaskID | None) -> None:
        """One HTTP attempt, appending to part from where it stopped."""
        offset = _resume_offset(entry, part)
        if entry.size is not None and offset == entry.size:
            return
        # identity: a compressed body would make Range offsets count compressed bytes
        headers = {"Accept-Encoding": "identity", **auth_headers(entry, self._env)}
        if offset:
            headers["Range"] = f"bytes={offset}-"
        try:
            async with self._client.stream("GET", entry.url, headers=headers) as resp:
                await self._write_body(entry, resp, part, offset, task)
        except httpx.TransportError as exc:
            raise _Retryable(f"{type(exc).__name__}: {exc}") from exc

    async def _write_body(
        self,
        entry: ModelEntry,
        resp: httpx.Response,
        part: Path,
        offset: int,
        task: TaskID | None,
    ) -> None:
        """Append a 206 body or restart on a 200 body; classify error statuses."""
        if resp.status_code == 416 and offset:
            return  # the server has nothing past our offset: the .part is complete
        _check_status(entry, resp)
        if resp.status_code != 206 or not resp.headers.get("content-range", "").startswith(
            f"bytes {offset}-"
        ):
            offset = 0  # server ignored the Range: start over
        self._advance(task, entry, resp, offset)
        with part.open("r+b" if offset else "wb") as fh:
            fh.seek(offset)
            fh.truncate()
            async for chunk in resp.aiter_bytes():  # unbuffered: keep every byte received
                fh.write(chunk)
                if self._progress is not None and task is not None:
                    self._progress.advance(task, len(chunk))

    def _advance(
        self, task: TaskID | None, entry: ModelEntry, resp: httpx.Response, offset: int
    ) -> None:
        """Set the bar's total and position from what the server said."""
        if self._progress is None or task is None:
            return
        total = entry.size
        if total is None and "content-length" in resp.headers:
            total = offset + int(resp.headers["content-length"])
        self._progress.update(task, total=total, completed=offset)


def _resume_offset(entry: ModelEntry, part: Path) -> int:
    """Bytes already in part; a part longer than the expected size is discarded."""
    offset = part.stat().st_size if part.exists() else 0
    if entry.size is not None and offset > entry.size:
        part.unlink()
        return 0
    return offset


def _check_status(entry: ModelEntry, resp: httpx.Response) -> None:
    """Raise the right error for a status that carries no file."""
    code = resp.status_code
    if code in (200, 206):
        return
    if code >= 500 or code == 429:
        raise _Retryable(f"HTTP {code} from {entry.url}")
    hint = ""
    if code in (401, 403):
        hint = f" (gated source: set {entry.token_env or 'a token variable'} in the environment)"
    raise DownloadError(f"{entry.name}: HTTP {code} from {entry.url}{hint}")


async def fetch_all(
    downloader: Downloader,
    entries: list[ModelEntry],
    known: Mapping[str, HashRecord],
    jobs: int,
) -> list[Outcome]:
    """Fetch entries with at most `jobs` transfers at a time."""
    gate = asyncio.Semaphore(max(1, jobs))

    async def one(entry: ModelEntry) -> Outcome:
        async with gate:
            return await downloader.fetch(entry, known.get(entry.name))

    return list(await asyncio.gather(*(one(entry) for entry in entries)))
