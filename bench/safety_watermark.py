"""Where the invisible watermark survives: re-encodes and edits of marked outputs.

    .venv/bin/python bench/safety_watermark.py

For each drawn test picture (1024²), embeds a job's mark through encode_marked, applies
one transformation, and reports whether the job tag is read back exactly, with the share
of payload bits that still read correctly.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gpu_server.safety import watermark
from gpu_server.safety.marking import encode_marked

Transform = Callable[[Image.Image], Image.Image]


def _pictures() -> dict[str, Image.Image]:
    rng = np.random.default_rng(3)
    row = np.linspace(0, 255, 1024, dtype=np.uint8)
    scene = Image.new("RGB", (1024, 1024), (120, 150, 190))
    d = ImageDraw.Draw(scene)
    for _ in range(40):
        x, y = (int(v) for v in rng.integers(0, 900, 2))
        d.ellipse([x, y, x + 120, y + 120], fill=tuple(int(v) for v in rng.integers(0, 255, 3)))
    return {
        "scene": scene.filter(ImageFilter.GaussianBlur(2)),
        "gradient": Image.fromarray(np.dstack([np.tile(row, (1024, 1))] * 3)),
        "noise": Image.fromarray(rng.integers(0, 256, (1024, 1024, 3), dtype=np.uint8)),
    }


def _reencode(fmt: str, **kw: object) -> Transform:
    def apply(img: Image.Image) -> Image.Image:
        out = io.BytesIO()
        img.save(out, format=fmt, **kw)
        return Image.open(io.BytesIO(out.getvalue())).convert("RGB")

    return apply


TRANSFORMS: dict[str, Transform] = {
    "none (PNG as delivered)": lambda img: img,
    "WebP q92 (delivered webp)": _reencode("WEBP", quality=92),
    "JPEG q92 (delivered jpeg)": _reencode("JPEG", quality=92),
    "JPEG q95": _reencode("JPEG", quality=95),
    "JPEG q85": _reencode("JPEG", quality=85),
    "JPEG q75": _reencode("JPEG", quality=75),
    "JPEG q60": _reencode("JPEG", quality=60),
    "JPEG q50": _reencode("JPEG", quality=50),
    "JPEG q40": _reencode("JPEG", quality=40),
    "JPEG q30": _reencode("JPEG", quality=30),
    "WebP q80": _reencode("WEBP", quality=80),
    "WebP q50": _reencode("WEBP", quality=50),
    "resize to 50%": lambda img: img.resize((img.width // 2, img.height // 2)),
    "resize to 90%": lambda img: img.resize((img.width * 9 // 10, img.height * 9 // 10)),
    "crop 16 px off the left": lambda img: img.crop((16, 0, img.width, img.height)),
    "brightness +10": lambda img: Image.eval(img, lambda v: min(255, v + 10)),
    "Gaussian blur r=1": lambda img: img.filter(ImageFilter.GaussianBlur(1)),
}


def main() -> None:
    pictures = _pictures()
    marked = {
        name: Image.open(io.BytesIO(encode_marked(_png(img), "png", f"job-{name}"))).convert("RGB")
        for name, img in pictures.items()
    }
    print("| transformation | " + " | ".join(pictures) + " |")
    print("|---|" + "---|" * len(pictures))
    for label, transform in TRANSFORMS.items():
        cells = [_cell(transform(marked[name]), f"job-{name}") for name in pictures]
        print(f"| {label} | " + " | ".join(cells) + " |")


def _png(img: Image.Image) -> bytes:
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


def _cell(img: Image.Image, job_id: str) -> str:
    rgb = np.asarray(img)
    bits = (watermark.read_bits(rgb) > 0.5).astype(int)
    share = float((bits == watermark.payload_bits(job_id)).mean())
    ok = watermark.decode(rgb) == watermark.job_tag(job_id)
    return f"{'yes' if ok else 'no'} ({share:.0%})"


if __name__ == "__main__":
    main()
