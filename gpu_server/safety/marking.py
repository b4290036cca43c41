"""Mark every output as AI-generated and encode it in the requested format."""

from __future__ import annotations

import io

from PIL import Image, PngImagePlugin

from common.protocol import OutputFormat

GENERATOR = "genpod"
DIGITAL_SOURCE_TYPE = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"


def encode_marked(png: bytes, fmt: OutputFormat, job_id: str) -> bytes:
    """Re-encode a PNG output as fmt, carrying AI-generated metadata."""
    with Image.open(io.BytesIO(png)) as img:
        rgb = img.convert("RGB")
    out = io.BytesIO()
    if fmt == "png":
        info = PngImagePlugin.PngInfo()
        info.add_text("Software", GENERATOR)
        info.add_text("genpod:job_id", job_id)
        info.add_text("DigitalSourceType", DIGITAL_SOURCE_TYPE)
        rgb.save(out, format="PNG", pnginfo=info)
    elif fmt == "webp":
        rgb.save(out, format="WEBP", quality=92)
    else:
        rgb.save(out, format="JPEG", quality=92)
    return out.getvalue()
