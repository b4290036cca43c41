"""File result store: input photos and output images under the data dir."""

from __future__ import annotations

import shutil
from collections import OrderedDict
from pathlib import Path

from backend.store.models import JobRow

FRESH_BUDGET_CHARS = 64_000_000  # about 64 MB of base64 kept for waiting /generate calls
FRESH_ROWS = 1000


class ResultFiles:
    """Stores bytes under DATA_DIR/results/<job> and DATA_DIR/inputs/<job>."""

    def __init__(self, data_dir: Path) -> None:
        self.results_dir = data_dir / "results"
        self.inputs_dir = data_dir / "inputs"
        self.results_dir.mkdir(parents=True, exist_ok=True)
        self.inputs_dir.mkdir(parents=True, exist_ok=True)

    def save_input(self, job_id: str, role: str, data: bytes) -> str:
        """Store one normalised input photo; returns its reference."""
        return self._write(self.inputs_dir, job_id, f"{role}.png", data)

    def save_result(self, job_id: str, name: str, fmt: str, data: bytes) -> str:
        """Store one output image as received; returns its reference."""
        return self._write(self.results_dir, job_id, f"{name}.{fmt}", data)

    def read(self, ref: str) -> bytes | None:
        """Bytes of a stored file, or None when it was swept away."""
        path = self._resolve(ref)
        return path.read_bytes() if path.is_file() else None

    def remove_job(self, job_id: str) -> None:
        """Delete every input and result of a job."""
        for root in (self.inputs_dir, self.results_dir):
            shutil.rmtree(root / job_id, ignore_errors=True)

    def _write(self, root: Path, job_id: str, name: str, data: bytes) -> str:
        folder = root / job_id
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{name}.tmp"
        tmp.write_bytes(data)
        tmp.replace(folder / name)  # atomic: a reader never sees half a file
        return f"{root.name}/{job_id}/{name}"

    def _resolve(self, ref: str) -> Path:
        kind, _, rest = ref.partition("/")
        root = self.results_dir if kind == "results" else self.inputs_dir
        return root / rest


class FreshResults:
    """Base64 images of just-finished jobs, so a waiting /generate skips a read and re-encode."""

    def __init__(self, budget_chars: int = FRESH_BUDGET_CHARS) -> None:
        self._budget = budget_chars
        self._size = 0
        self._items: OrderedDict[str, list[str]] = OrderedDict()
        self._rows: OrderedDict[str, JobRow] = OrderedDict()

    def put_row(self, row: JobRow) -> None:
        """Keep a just-settled row so its waiter needs no store read."""
        self._rows[row.id] = row
        while len(self._rows) > FRESH_ROWS:
            self._rows.popitem(last=False)

    def take_row(self, job_id: str) -> JobRow | None:
        """The just-settled row of a job, once."""
        return self._rows.pop(job_id, None)

    def put(self, job_id: str, images_b64: list[str]) -> None:
        """Keep a job's images, forgetting the oldest entries past the budget."""
        self._items[job_id] = images_b64
        self._size += sum(map(len, images_b64))
        while self._size > self._budget and self._items:
            _, dropped = self._items.popitem(last=False)
            self._size -= sum(map(len, dropped))

    def take(self, job_id: str) -> list[str] | None:
        """The job's images once (None when never kept or already dropped)."""
        images = self._items.pop(job_id, None)
        if images is not None:
            self._size -= sum(map(len, images))
        return images
