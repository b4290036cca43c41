"""The fake's input, output and temp folders, with ComfyUI's naming and path rules."""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif", ".tif", ".tiff"}
_ANNOTATION = re.compile(r"^(.*) \[(input|output|temp)\]$")


@dataclass
class Folders:
    """Where uploads (input), results (output) and previews (temp) are kept."""

    output: Path
    input: Path
    temp: Path

    def by_type(self, kind: str | None) -> Path | None:
        """The folder of a ComfyUI file type, None when the type is unknown."""
        return {"output": self.output, "input": self.input, "temp": self.temp}.get(kind or "")

    def save_path(self, prefix: str, width: int, height: int) -> tuple[Path, str, int, str]:
        """(folder, base name, first free counter, subfolder) for a filename_prefix."""
        prefix = prefix.replace("%width%", str(width)).replace("%height%", str(height))
        normal = os.path.normpath(prefix)
        subfolder, base = os.path.dirname(normal), os.path.basename(normal)
        folder = (self.output / subfolder).resolve()
        if os.path.commonpath((self.output.resolve(), folder)) != str(self.output.resolve()):
            raise ValueError("Saving image outside the output folder is not allowed.")
        folder.mkdir(parents=True, exist_ok=True)
        return folder, base, _next_counter(folder, base), subfolder

    def input_exists(self, name: str) -> bool:
        """Whether LoadImage would find this input file (annotations allowed)."""
        path = self.annotated(name)
        return path is not None and path.is_file()

    def annotated(self, name: str) -> Path | None:
        """Resolve `name [output]` style annotated paths the way LoadImage does."""
        match = _ANNOTATION.match(name)
        base, kind = (match.group(1), match.group(2)) if match else (name, "input")
        root = self.by_type(kind)
        if root is None or ".." in base or base.startswith("/"):
            return None
        return root / base

    def input_images(self) -> list[str]:
        """Image files at the top of the input folder, as LoadImage lists them."""
        names = [p.name for p in self.input.iterdir() if p.is_file()]
        return sorted(n for n in names if Path(n).suffix.lower() in IMAGE_SUFFIXES)

    def store_upload(
        self, kind: str, subfolder: str, filename: str, data: bytes, overwrite: bool
    ) -> str | None:
        """Save an upload with ComfyUI's dedupe rules; the stored name, or None if refused."""
        root = (self.by_type(kind) or self.input).resolve()
        folder = (root / os.path.normpath(subfolder)).resolve()
        path = (folder / filename).resolve()
        if os.path.commonpath((str(root), str(path))) != str(root):
            return None
        folder.mkdir(parents=True, exist_ok=True)
        stem, suffix = os.path.splitext(filename)
        counter = 1
        while not overwrite and path.exists():
            if _digest(path.read_bytes()) == _digest(data):
                return filename  # identical bytes keep their name, nothing is written
            filename = f"{stem} ({counter}){suffix}"
            path = folder / filename
            counter += 1
        path.write_bytes(data)
        return filename

    def view_path(self, filename: str, kind: str | None, subfolder: str | None) -> Path | int:
        """The file /view serves, or the HTTP status ComfyUI answers instead."""
        match = _ANNOTATION.match(filename)
        root = self.by_type(match.group(2)) if match else None
        filename = match.group(1) if match else filename
        if not filename or filename[0] == "/" or ".." in filename:
            return 400
        root = root or self.by_type(kind or "output")
        if root is None:
            return 400
        base = root.resolve()
        if subfolder is not None:
            full = (base / subfolder).resolve()
            if os.path.commonpath((str(full), str(base))) != str(base):
                return 403
            base = full
        path = base / os.path.basename(filename)
        return path if path.is_file() else 404


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _next_counter(folder: Path, base: str) -> int:
    best = 0
    prefix = base + "_"
    for name in os.listdir(folder):
        if not name.startswith(prefix):
            continue
        digits = name[len(prefix) :].split("_")[0]
        if digits.isdigit() and name[len(prefix) + len(digits) :].startswith("_"):
            best = max(best, int(digits))
    return best + 1
