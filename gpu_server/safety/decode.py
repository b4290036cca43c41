"""Decode untrusted image bytes once; anything unreadable is an error, never "safe"."""

from __future__ import annotations

import io
import warnings

from PIL import Image, UnidentifiedImageError

from gpu_server.safety.errors import UndecodableImage


def decode_rgb(data: bytes, *, max_pixels: int) -> Image.Image:
    """Fully decode bytes into an RGB image; truncated, garbage or huge input raises."""
    if not data:
        raise UndecodableImage("empty image")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                width, height = img.size
                if width * height > max_pixels:
                    raise UndecodableImage(f"image has {width * height} pixels, over the limit")
                img.load()
                return img.convert("RGB")
    except UndecodableImage:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError) as exc:
        raise UndecodableImage(f"cannot decode image: {type(exc).__name__}") from exc
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise UndecodableImage("image is a decompression bomb") from exc
