"""Uploaded photos are normalised to upright 8-bit RGB PNG, or refused with a clear code."""

from __future__ import annotations

import base64
import io

import pytest
from PIL import Image

from backend.errors import RequestRejected
from backend.services.images import ImageLimits, clean_image

LIMITS = ImageLimits(max_bytes=10_000_000, max_pixels=4096 * 4096)


def encode(image: Image.Image, fmt: str, **save: object) -> str:
    """An image saved in a format, as base64."""
    out = io.BytesIO()
    image.save(out, format=fmt, **save)
    return base64.b64encode(out.getvalue()).decode()


def cleaned(text: str) -> Image.Image:
    """clean_image's output, reopened."""
    result = clean_image("target_image", text, LIMITS)
    image = Image.open(io.BytesIO(result.png))
    assert image.format == "PNG"
    return image


def test_exif_rotation_is_applied() -> None:
    """A landscape JPEG tagged 'rotate 90' comes out as portrait."""
    image = Image.new("RGB", (200, 100), (10, 120, 200))
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 CW to display
    out = cleaned(encode(image, "JPEG", exif=exif))
    assert out.size == (100, 200)


@pytest.mark.parametrize(
    ("mode", "color", "fmt"),
    [
        ("CMYK", (0, 255, 255, 0), "JPEG"),
        ("P", 3, "PNG"),
        ("L", 90, "PNG"),
        ("LA", (90, 255), "PNG"),
    ],
)
def test_odd_modes_become_rgb(mode: str, color: object, fmt: str) -> None:
    """CMYK, palette, grey and grey+alpha photos become 8-bit RGB."""
    out = cleaned(encode(Image.new(mode, (80, 80), color), fmt))
    assert out.mode == "RGB"


def test_alpha_is_flattened_on_white() -> None:
    """Transparent pixels become white, opaque ones keep their colour."""
    image = Image.new("RGBA", (80, 80), (0, 0, 0, 0))
    image.paste((200, 10, 10, 255), (0, 0, 40, 80))
    out = cleaned(encode(image, "PNG"))
    assert out.getpixel((70, 10)) == (255, 255, 255)
    assert out.getpixel((10, 10)) == (200, 10, 10)


def test_sixteen_bit_is_scaled_to_eight() -> None:
    """A 16-bit grey PNG is scaled down, not clipped to white."""
    image = Image.new("I;16", (80, 80), 32768)
    out = cleaned(encode(image, "PNG"))
    assert out.mode == "RGB"
    assert 100 <= out.getpixel((5, 5))[0] <= 150


def test_animation_keeps_its_first_frame() -> None:
    """An animated GIF is reduced to its first frame."""
    frames = [Image.new("RGB", (80, 80), c) for c in ((255, 0, 0), (0, 0, 255))]
    text = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    out = cleaned(text)
    red, _, blue = out.getpixel((5, 5))
    assert red > 200
    assert blue < 50


def test_data_url_prefix_is_accepted() -> None:
    """A data: URL is decoded like plain base64."""
    text = "data:image/png;base64," + encode(Image.new("RGB", (70, 70)), "PNG")
    assert cleaned(text).size == (70, 70)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("@@@", "invalid_base64"),
        (base64.b64encode(b"GIF89a-but-not-really").decode(), "image_invalid"),
        ("", "image_invalid"),
    ],
)
def test_garbage_is_refused(text: str, code: str) -> None:
    """Malformed base64 and non-images are refused with their codes."""
    with pytest.raises(RequestRejected) as caught:
        clean_image("target_image", text, LIMITS)
    assert caught.value.code == code
