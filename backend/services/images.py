"""Decode, check and normalise uploaded photos to 8-bit RGB PNG."""

from __future__ import annotations

import base64
import binascii
import io
import re
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from backend.errors import RequestRejected
from common.error_codes import ErrorCode

MIN_SIDE = 64
# A header that promises many pixels from few bytes is a decompression bomb, not a photo.
BOMB_PIXELS_PER_BYTE = 1000
_DATA_URL = re.compile(r"^data:image/[a-z0-9.+-]+;base64,", re.IGNORECASE)
_WHITESPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class ImageLimits:
    """Upload limits from the settings."""

    max_bytes: int
    max_pixels: int


@dataclass(frozen=True)
class CleanImage:
    """A normalised photo: PNG bytes in 8-bit RGB, EXIF rotation applied."""

    png: bytes
    width: int
    height: int


def _reject(code: ErrorCode, message: str) -> RequestRejected:
    return RequestRejected(code, message, status=400 if code == ErrorCode.INVALID_BASE64 else 422)


def decode_base64(field: str, text: str, limits: ImageLimits) -> bytes:
    """Base64 (optionally a data URL) to bytes, refusing oversize input before decoding."""
    body = _WHITESPACE.sub("", _DATA_URL.sub("", text, count=1))
    if len(body) * 3 // 4 > limits.max_bytes:
        mb = limits.max_bytes / 1_000_000
        raise _reject(ErrorCode.IMAGE_TOO_LARGE, f"{field} is larger than {mb:g} MB.")
    try:
        data = base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        raise _reject(ErrorCode.INVALID_BASE64, f"{field} is not valid base64.") from None
    if not data:
        raise _reject(ErrorCode.IMAGE_INVALID, f"{field} is empty.")
    return data


def _open_checked(field: str, data: bytes, limits: ImageLimits) -> Image.Image:
    """Open the header only and check its size before any pixel is decoded."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _reject(
            ErrorCode.IMAGE_DECOMPRESSION_BOMB,
            f"{field} declares far too many pixels; it was refused.",
        ) from None
    except UnidentifiedImageError:
        raise _reject(ErrorCode.IMAGE_INVALID, f"{field} is not a readable image.") from None
    except Exception:
        raise _reject(ErrorCode.IMAGE_INVALID, f"{field} is not a readable image.") from None
    width, height = image.size
    pixels = width * height
    if pixels > limits.max_pixels:
        if pixels > BOMB_PIXELS_PER_BYTE * len(data):
            raise _reject(
                ErrorCode.IMAGE_DECOMPRESSION_BOMB,
                f"{field} declares {width}x{height} pixels in a tiny file; it was refused.",
            )
        raise _reject(
            ErrorCode.IMAGE_TOO_LARGE, f"{field} has more than {limits.max_pixels} pixels."
        )
    if min(width, height) < MIN_SIDE:
        raise _reject(ErrorCode.IMAGE_TOO_SMALL, f"{field} must be at least {MIN_SIDE} px a side.")
    return image


def _to_rgb(image: Image.Image) -> Image.Image:
    """Any mode to 8-bit RGB: alpha on white, 16-bit scaled down, palette and CMYK converted."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        image = image.point(lambda v: v / 256).convert("L")
    if image.mode == "P":
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA"):
        background = Image.new("RGB", image.size, (255, 255, 255))
        background.paste(image.convert("RGBA"), mask=image.convert("RGBA").getchannel("A"))
        return background
    return image.convert("RGB") if image.mode != "RGB" else image


def clean_image(field: str, text: str, limits: ImageLimits) -> CleanImage:
    """Base64 photo to a checked, upright 8-bit RGB PNG (first frame of animations)."""
    data = decode_base64(field, text, limits)
    image = _open_checked(field, data, limits)
    try:
        image.seek(0)
        image.load()
        upright = ImageOps.exif_transpose(image) or image
        rgb = _to_rgb(upright)
        out = io.BytesIO()
        rgb.save(out, format="PNG")
    except Exception:
        raise _reject(ErrorCode.IMAGE_INVALID, f"{field} could not be decoded.") from None
    return CleanImage(out.getvalue(), rgb.width, rgb.height)


def convert_image(data: bytes, fmt: str) -> bytes:
    """Re-encode a stored result in another output format."""
    image = Image.open(io.BytesIO(data))
    out = io.BytesIO()
    target = image.convert("RGB") if fmt == "jpeg" else image
    target.save(out, format=fmt.upper(), quality=92)
    return out.getvalue()
