"""The model manifest and downloader against a loopback HTTP server."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
import yaml

from infra.manifest import DEFAULT_MANIFEST, load_manifest
from infra.models import main
from tests.infra.fileserver import Served, file_server

REPO = Path(__file__).resolve().parents[2]


def _blob(n: int, seed: int) -> bytes:
    return bytes((i * 31 + seed) % 251 for i in range(n))


def _manifest(tmp: Path, base: str, files: dict[str, bytes], **extra: dict[str, object]) -> Path:
    models = []
    for name, body in files.items():
        entry: dict[str, object] = {
            "name": name,
            "url": f"{base}/{name}.bin",
            "filename": f"{name}.safetensors",
            "folder": "checkpoints",
            "sha256": hashlib.sha256(body).hexdigest(),
            "size": len(body),
            "license": "test",
            "styles": ["anime"],
        }
        entry.update(extra.get(name, {}))
        models.append(entry)
    path = tmp / "models.yaml"
    path.write_text(yaml.safe_dump({"models": models}))
    return path


def _run(manifest: Path, models: Path, *args: str) -> int:
    return main(["--manifest", str(manifest), "--models-dir", str(models), *args])


def test_sync_downloads_in_parallel_then_skips_on_rerun(tmp_path: Path) -> None:
    """sync fetches every file, records verified hashes, and a rerun makes no HTTP request."""
    files = {"a": _blob(300_000, 1), "b": _blob(200_000, 2), "c": _blob(5, 3)}
    served = Served(files={f"/{k}.bin": v for k, v in files.items()})
    with file_server(served) as base:
        manifest = _manifest(tmp_path, base, files)
        assert _run(manifest, tmp_path / "m", "sync", "--jobs", "3") == 0
        for name, body in files.items():
            assert (tmp_path / "m" / "checkpoints" / f"{name}.safetensors").read_bytes() == body
        state = json.loads((tmp_path / "m" / ".genpod-state.json").read_text())
        assert all(state[name]["verified"] for name in files)
        seen = len(served.requests)
        assert _run(manifest, tmp_path / "m", "sync") == 0
    assert seen == 3
    assert len(served.requests) == 3


def test_cut_connection_resumes_with_range(tmp_path: Path) -> None:
    """A transfer cut mid-way is resumed from the bytes already on disk, then verified."""
    body = _blob(1_000_000, 7)
    served = Served(files={"/big.bin": body}, cut_after={"/big.bin": [400_000, 250_000]})
    with file_server(served) as base:
        manifest = _manifest(tmp_path, base, {"big": body})
        assert _run(manifest, tmp_path / "m", "sync") == 0
    ranges = [rng for _, rng, _ in served.requests]
    assert ranges == [None, "bytes=400000-", "bytes=650000-"]
    assert (tmp_path / "m" / "checkpoints" / "big.safetensors").read_bytes() == body


def test_server_ignoring_range_restarts_cleanly(tmp_path: Path) -> None:
    """When the server answers a Range request with the whole file, the file is rewritten."""
    body = _blob(500_000, 9)
    served = Served(files={"/x.bin": body}, cut_after={"/x.bin": [100_000]}, ignore_range=True)
    with file_server(served) as base:
        manifest = _manifest(tmp_path, base, {"x": body})
        assert _run(manifest, tmp_path / "m", "sync") == 0
    assert (tmp_path / "m" / "checkpoints" / "x.safetensors").read_bytes() == body


def test_leftover_part_file_is_resumed(tmp_path: Path) -> None:
    """A .part file left by a killed sync is continued, not thrown away."""
    body = _blob(400_000, 4)
    part = tmp_path / "m" / "checkpoints" / "p.safetensors.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(body[:123_456])
    served = Served(files={"/p.bin": body})
    with file_server(served) as base:
        assert _run(_manifest(tmp_path, base, {"p": body}), tmp_path / "m", "sync") == 0
    assert [rng for _, rng, _ in served.requests] == ["bytes=123456-"]
    assert not part.exists()


def test_corrupt_download_leaves_nothing_that_looks_complete(tmp_path: Path) -> None:
    """A body whose sha256 differs from the manifest is deleted and sync exits non-zero."""
    good, bad = _blob(50_000, 1), _blob(50_000, 2)
    served = Served(files={"/c.bin": bad})
    with file_server(served) as base:
        manifest = _manifest(tmp_path, base, {"c": good})
        assert _run(manifest, tmp_path / "m", "sync") == 1
    folder = tmp_path / "m" / "checkpoints"
    assert list(folder.iterdir()) == []


def test_retries_exhausted_keep_only_the_part_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """When every try is cut, sync fails and only a .part file (never the final name) exists."""
    body = _blob(300_000, 5)
    served = Served(files={"/r.bin": body}, cut_after={"/r.bin": [1000, 1000]})
    with file_server(served) as base:
        manifest = _manifest(tmp_path, base, {"r": body})
        assert _run(manifest, tmp_path / "m", "sync", "--attempts", "2") == 1
    assert "gave up after 2 tries" in capsys.readouterr().out
    names = sorted(p.name for p in (tmp_path / "m" / "checkpoints").iterdir())
    assert names == ["r.safetensors.part"]


def test_gated_source_uses_token_from_env_and_never_prints_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """token_env's value is sent as a Bearer header; a missing token gives a hint, not a trace."""
    body, secret = _blob(10_000, 6), "hf_secret_value_123"
    served = Served(files={"/g.bin": body}, tokens={"/g.bin": secret})
    with file_server(served) as base:
        manifest = _manifest(tmp_path, base, {"g": body}, g={"token_env": "TEST_HF_TOKEN"})
        monkeypatch.delenv("TEST_HF_TOKEN", raising=False)
        assert _run(manifest, tmp_path / "m", "sync") == 1
        assert "set TEST_HF_TOKEN" in capsys.readouterr().out
        monkeypatch.setenv("TEST_HF_TOKEN", secret)
        assert _run(manifest, tmp_path / "m", "sync") == 0
    assert served.requests[-1][2] == f"Bearer {secret}"
    assert secret not in capsys.readouterr().out


def test_unhashed_entry_is_downloaded_but_never_marked_verified(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """sha256: null downloads, records the computed hash as unverified, and warns."""
    body = _blob(20_000, 8)
    served = Served(files={"/u.bin": body})
    with file_server(served) as base:
        manifest = _manifest(tmp_path, base, {"u": body}, u={"sha256": None, "size": None})
        assert _run(manifest, tmp_path / "m", "sync") == 0
    out = capsys.readouterr().out
    digest = hashlib.sha256(body).hexdigest()
    assert "UNVERIFIED" in out
    assert digest in out
    state = json.loads((tmp_path / "m" / ".genpod-state.json").read_text())
    assert state["u"] == {**state["u"], "sha256": digest, "verified": False}
    assert _run(manifest, tmp_path / "m", "verify") == 0
    assert "UNVERIFIED" in capsys.readouterr().out


def test_verify_reports_missing_and_corrupt(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """verify exits 1 and names each missing or corrupt file; a good set exits 0."""
    files = {"ok": _blob(1000, 1), "gone": _blob(1000, 2), "flip": _blob(1000, 3)}
    served = Served(files={f"/{k}.bin": v for k, v in files.items()})
    with file_server(served) as base:
        manifest = _manifest(tmp_path, base, files)
        assert _run(manifest, tmp_path / "m", "sync") == 0
    assert _run(manifest, tmp_path / "m", "verify") == 0
    folder = tmp_path / "m" / "checkpoints"
    (folder / "gone.safetensors").unlink()
    flipped = bytearray((folder / "flip.safetensors").read_bytes())
    flipped[10] ^= 0xFF
    (folder / "flip.safetensors").write_bytes(bytes(flipped))
    capsys.readouterr()
    assert _run(manifest, tmp_path / "m", "verify") == 1
    out = capsys.readouterr().out
    assert "MISSING gone" in out
    assert "CORRUPT flip" in out
    assert "OK ok" in out


def test_sync_replaces_a_corrupt_finished_file(tmp_path: Path) -> None:
    """A finished file whose hash no longer matches is fetched again by sync."""
    body = _blob(3000, 4)
    target = tmp_path / "m" / "checkpoints" / "z.safetensors"
    target.parent.mkdir(parents=True)
    target.write_bytes(b"x" * 3000)
    served = Served(files={"/z.bin": body})
    with file_server(served) as base:
        assert _run(_manifest(tmp_path, base, {"z": body}), tmp_path / "m", "sync") == 0
    assert target.read_bytes() == body


def test_shipped_manifest_covers_every_model_the_styles_name() -> None:
    """models.yaml lists each checkpoint, VAE, LoRA, ControlNet and upscaler styles.yaml names."""
    styles = yaml.safe_load((REPO / "config" / "styles.yaml").read_text())
    needed = {styles["upscale"]["model"]}
    for style in styles["styles"].values():
        needed |= {style["checkpoint"], style["vae"], *style["loras_offered"]}
        needed |= {lora["name"] for lora in style["loras"]}
        needed |= set(style.get("controlnet", {}).values())
    manifest = load_manifest(DEFAULT_MANIFEST)
    assert needed <= {entry.filename for entry in manifest.models}
    for entry in manifest.models:
        assert entry.url.startswith("https://")
        assert entry.sha256 is not None or entry.verify, entry.name


def test_unknown_model_name_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Asking for a model the manifest lacks exits 2 with a sentence, not a traceback."""
    assert main(["--models-dir", os.fspath(tmp_path), "sync", "no-such-model"]) == 2
    assert "unknown model(s): no-such-model" in capsys.readouterr().out
