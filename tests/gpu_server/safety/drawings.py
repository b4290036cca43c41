"""Synthetic image fixtures drawn in code: a flesh-tone nude figure and harmless pictures.

The figure is a plain drawing (head, torso, two breasts with areolae) that the shipped
NudeNet detector flags as FEMALE_BREAST_EXPOSED; no photograph is stored in the repo.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

SKIN = (224, 172, 140)
BACKDROP = (90, 110, 140)


def figure(size: int = 640, skin: tuple[int, int, int] = SKIN) -> Image.Image:
    """A drawn, unclothed upper body scaled to size x size."""
    img = Image.new("RGB", (size, size), BACKDROP)
    d = ImageDraw.Draw(img)
    s = size / 640
    shade = tuple(int(c * 0.93) for c in skin)
    d.ellipse([250 * s, 40 * s, 390 * s, 200 * s], fill=skin)
    d.rectangle([295 * s, 180 * s, 345 * s, 240 * s], fill=skin)
    d.ellipse([170 * s, 210 * s, 470 * s, 640 * s], fill=skin)
    for cx in (255, 385):
        d.ellipse([(cx - 65) * s, 290 * s, (cx + 65) * s, 420 * s], fill=shade)
        d.ellipse([(cx - 16) * s, 350 * s, (cx + 16) * s, 382 * s], fill=(170, 100, 90))
        d.ellipse([(cx - 6) * s, 360 * s, (cx + 6) * s, 372 * s], fill=(140, 75, 70))
    return img.filter(ImageFilter.GaussianBlur(3 * s))


def figure_in_canvas(figure_px: int = 320, canvas_px: int = 2048) -> Image.Image:
    """A small drawn figure placed off-centre in a large plain canvas."""
    canvas = Image.new("RGB", (canvas_px, canvas_px), BACKDROP)
    canvas.paste(figure(figure_px), (canvas_px * 5 // 8, canvas_px * 7 // 16))
    return canvas


def shapes(size: int = 1024) -> Image.Image:
    """Primary-colour rectangles, circles and triangles on white."""
    img = Image.new("RGB", (size, size), "white")
    d = ImageDraw.Draw(img)
    d.rectangle([size // 10, size // 10, size * 4 // 10, size * 4 // 10], fill=(200, 30, 30))
    d.ellipse([size // 2, size // 2, size * 9 // 10, size * 9 // 10], fill=(30, 160, 60))
    d.polygon(
        [
            (size * 6 // 10, size // 10),
            (size * 9 // 10, size * 3 // 10),
            (size * 7 // 10, size * 4 // 10),
        ],
        fill=(30, 60, 200),
    )
    return img


def noise(size: int = 1024, seed: int = 7) -> Image.Image:
    """Uniform RGB noise."""
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8))


def gradient(size: int = 1024) -> Image.Image:
    """A left-to-right grey gradient."""
    row = np.linspace(0, 255, size, dtype=np.uint8)
    return Image.fromarray(np.dstack([np.tile(row, (size, 1))] * 3))


def png(img: Image.Image) -> bytes:
    """PNG bytes of an image."""
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()
