"""File result store: input photos and output images under the data dir."""

from __future__ import annotations

import shutil
from pathlib import Path


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
