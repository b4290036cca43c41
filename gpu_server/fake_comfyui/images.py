"""Demo pictures: deterministic per seed, plainly labelled, cheap to encode."""

from __future__ import annotations

import io
import json
import random
from typing import Any

from PIL import Image, ImageDraw, ImageFont
from PIL.PngImagePlugin import PngInfo

LABEL = "genpod DEMO ENGINE"
# Rendering happens on a small canvas and is scaled up, so big outputs stay fast.
_CANVAS = 256


def render_png(width: int, height: int, seed: int, metadata: dict[str, Any]) -> bytes:
    """An RGB PNG of the given size with a seeded pattern, the demo label and tEXt metadata."""
    image = _pattern(seed).resize((max(width, 1), max(height, 1)), Image.Resampling.BILINEAR)
    _label(image)
    return encode_png(image, metadata)


def preview_jpeg(width: int, height: int, seed: int) -> bytes:
    """A small JPEG like a latent2rgb preview (latent size: an eighth of the image)."""
    size = (max(1, width // 8), max(1, height // 8))
    out = io.BytesIO()
    _pattern(seed).resize(size).save(out, format="JPEG", quality=75)
    return out.getvalue()


def encode_png(image: Image.Image, metadata: dict[str, Any]) -> bytes:
    """Encode as 8-bit RGB PNG at zlib level 1, with one tEXt chunk per metadata key."""
    info = PngInfo()
    for key, value in metadata.items():
        info.add_text(key, json.dumps(value))
    out = io.BytesIO()
    image.convert("RGB").save(out, format="PNG", pnginfo=info, compress_level=1)
    return out.getvalue()


def image_size(data: bytes) -> tuple[int, int] | None:
    """Width and height of an encoded image, or None when it is not one."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            return int(img.width), int(img.height)
    except Exception:  # any undecodable upload: ComfyUI would fail later, the fake guesses
        return None


def _pattern(seed: int) -> Image.Image:
    rng = random.Random(seed)  # noqa: S311 - pictures, not secrets
    base = [rng.randrange(40, 216) for _ in range(6)]
    gradient = Image.linear_gradient("L").resize((_CANVAS, _CANVAS))
    bands = []
    for i in range(3):
        angle = rng.choice([0, 90, 180, 270])
        band = gradient.rotate(angle).point(_ramp(base[i], base[i + 3]))
        bands.append(band)
    image = Image.merge("RGB", bands)
    draw = ImageDraw.Draw(image)
    for _ in range(6):
        x0, y0 = rng.randrange(_CANVAS), rng.randrange(_CANVAS)
        size = rng.randrange(20, 110)
        color = tuple(rng.randrange(256) for _ in range(3))
        box = (x0 - size // 2, y0 - size // 2, x0 + size // 2, y0 + size // 2)
        # Rectangles only: large round blobs read as BUTTOCKS_EXPOSED >= 0.30 to the
        # shipped nudity detector on about 16 % of seeds, and the worker blocks them.
        rng.random()  # keep the seeded sequence (and so each seed's picture) otherwise unchanged
        draw.rectangle(box, fill=color)
    return image


def _ramp(low: int, high: int) -> list[int]:
    return [low + (high - low) * v // 255 for v in range(256)]


def _label(image: Image.Image) -> None:
    draw = ImageDraw.Draw(image)
    size = max(8, image.width // 14)
    font = ImageFont.load_default(size=size)
    left, top, right, bottom = draw.textbbox((0, 0), LABEL, font=font)
    x = max(0, (image.width - (right - left)) // 2)
    y = max(0, (image.height - (bottom - top)) // 2)
    pad = max(2, size // 4)
    box = (x - pad, y - pad, x + (right - left) + pad, y + (bottom - top) + pad * 2)
    draw.rectangle(box, fill=(0, 0, 0))
    draw.text((x, y - top), LABEL, fill=(255, 255, 255), font=font)
