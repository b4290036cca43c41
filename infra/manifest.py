"""The model manifest (config/models.yaml) and the local record of computed hashes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from infra import ManifestError

REPO = Path(__file__).resolve().parents[1]
DEFAULT_MANIFEST = REPO / "config" / "models.yaml"
STATE_FILE = ".genpod-state.json"
# ComfyUI's own model folder names; a typo here would put a file where ComfyUI never looks.
FOLDERS = frozenset(
    {"checkpoints", "vae", "loras", "controlnet", "upscale_models", "clip", "embeddings"}
)
Sha256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]


class ModelEntry(BaseModel):
    """One model file: where it comes from, where it goes, how to check it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$")
    url: str = Field(pattern=r"^https?://")
    filename: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")
    folder: str
    sha256: Sha256 | None = None
    size: int | None = Field(default=None, gt=0)
    verify: str | None = None
    license: str
    styles: list[str] = []
    token_env: str | None = None

    @field_validator("folder")
    @classmethod
    def _known_folder(cls, value: str) -> str:
        if value not in FOLDERS:
            raise ValueError(f"folder must be one of {sorted(FOLDERS)}")
        return value

    def target(self, models_dir: Path) -> Path:
        """Where the finished file lives under models_dir."""
        return models_dir / self.folder / self.filename


class Manifest(BaseModel):
    """Every model genpod's styles need."""

    model_config = ConfigDict(extra="forbid")

    models: list[ModelEntry]

    def select(self, names: list[str] | None) -> list[ModelEntry]:
        """The entries named (all when names is empty); unknown names are an error."""
        if not names:
            return list(self.models)
        known = {entry.name: entry for entry in self.models}
        unknown = [name for name in names if name not in known]
        if unknown:
            raise ManifestError(f"unknown model(s): {', '.join(unknown)}; see `list`")
        return [known[name] for name in names]


def load_manifest(path: Path = DEFAULT_MANIFEST) -> Manifest:
    """Read and validate the manifest, with a readable error when it is wrong."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        manifest = Manifest.model_validate(raw)
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        raise ManifestError(f"cannot use manifest {path}: {exc}") from exc
    names = [entry.name for entry in manifest.models]
    if len(set(names)) != len(names):
        raise ManifestError(f"manifest {path} repeats a model name")
    return manifest


class HashRecord(BaseModel):
    """What sync computed for a finished file (so a reboot need not re-hash 7 GB)."""

    sha256: str
    size: int
    mtime_ns: int
    verified: bool


def read_state(models_dir: Path) -> dict[str, HashRecord]:
    """Hash records keyed by model name; a missing or broken file means none."""
    try:
        raw = json.loads((models_dir / STATE_FILE).read_text(encoding="utf-8"))
        return {name: HashRecord.model_validate(rec) for name, rec in raw.items()}
    except (OSError, ValueError, ValidationError):
        return {}


def write_state(models_dir: Path, state: dict[str, HashRecord]) -> None:
    """Write hash records atomically."""
    models_dir.mkdir(parents=True, exist_ok=True)
    tmp = models_dir / (STATE_FILE + ".tmp")
    data = {name: rec.model_dump() for name, rec in sorted(state.items())}
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    tmp.replace(models_dir / STATE_FILE)
