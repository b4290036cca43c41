"""The delivery registry and the takedown CLI answer "did we make this?" from real SQLite."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from backend.services.content_policy.registry import DeliveryRegistry, RegistryError, job_tag
from backend.services.content_policy.takedown import main

REPO = Path(__file__).resolve().parents[2]


def _picture(seed: int, size: int = 512) -> Image.Image:
    rng = np.random.default_rng(seed)
    img = Image.new("RGB", (size, size), tuple(int(v) for v in rng.integers(0, 255, 3)))
    d = ImageDraw.Draw(img)
    for _ in range(12):
        x, y = (int(v) for v in rng.integers(0, size - 80, 2))
        d.ellipse([x, y, x + 80, y + 80], fill=tuple(int(v) for v in rng.integers(0, 255, 3)))
    return img


def _encode(img: Image.Image, fmt: str = "PNG", **kw: object) -> bytes:
    out = io.BytesIO()
    img.save(out, format=fmt, **kw)
    return out.getvalue()


@pytest.fixture
def registry(tmp_path: Path) -> DeliveryRegistry:
    """A registry with two delivered pictures from two jobs."""
    reg = DeliveryRegistry(tmp_path / "delivered.sqlite3")
    reg.record_delivery("job-a", _encode(_picture(1)), index=0)
    reg.record_delivery("job-b", _encode(_picture(2)), index=0)
    return reg


def test_recompressed_and_resized_copy_is_found(registry: DeliveryRegistry) -> None:
    """A JPEG 70, half-size copy of a delivered image is found with its job id."""
    copy = _encode(_picture(1).resize((256, 256)), "JPEG", quality=70)
    (hit,) = registry.lookup(copy)
    assert (hit.job_id, hit.image_index) == ("job-a", 0)
    assert hit.distance <= 6


def test_unrelated_image_is_not_found(registry: DeliveryRegistry) -> None:
    """A picture never delivered matches nothing."""
    assert registry.lookup(_encode(_picture(99))) == []


def test_recording_is_idempotent_and_survives_reopening(tmp_path: Path) -> None:
    """Recording the same (job, index) twice keeps one row, and data persists on disk."""
    path = tmp_path / "r.sqlite3"
    data = _encode(_picture(3))
    DeliveryRegistry(path).record_delivery("job-c", data)
    DeliveryRegistry(path).record_delivery("job-c", data)
    assert [d.job_id for d in DeliveryRegistry(path).lookup(data)] == ["job-c"]
    assert DeliveryRegistry(path).by_tag(job_tag("job-c")) == ["job-c"]


def test_garbage_is_a_registry_error(registry: DeliveryRegistry) -> None:
    """Undecodable bytes raise RegistryError instead of recording a bogus hash."""
    with pytest.raises(RegistryError):
        registry.record_delivery("job-x", b"not an image")


def test_cli_answers_yes_with_job_and_distance(
    registry: DeliveryRegistry, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`takedown check` prints the job id and distance and exits 0 for a delivered image."""
    image = tmp_path / "found.jpg"
    image.write_bytes(_encode(_picture(2), "JPEG", quality=80))
    assert main(["check", str(image), "--db", str(registry.path)]) == 0
    out = capsys.readouterr().out
    assert "made here: yes" in out
    assert "job job-b image 0 distance" in out


def test_cli_answers_no_and_reads_unknown_files_as_errors(
    registry: DeliveryRegistry, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Exit 1 for an image not made here, 2 for a file that is not an image."""
    other = tmp_path / "other.png"
    other.write_bytes(_encode(_picture(50)))
    assert main(["check", str(other), "--db", str(registry.path)]) == 1
    assert "made here: no" in capsys.readouterr().out
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"nope")
    assert main(["check", str(bad), "--db", str(registry.path)]) == 2


def test_cli_runs_as_a_module(registry: DeliveryRegistry, tmp_path: Path) -> None:
    """`python -m backend.services.content_policy.takedown check` works as a process."""
    image = tmp_path / "a.png"
    image.write_bytes(_encode(_picture(1)))
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "backend.services.content_policy.takedown",
            "check",
            str(image),
            "--db",
            str(registry.path),
            "--json",
        ],
        check=False,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert proc.returncode == 0, proc.stderr
    assert '"job_id": "job-a"' in proc.stdout
