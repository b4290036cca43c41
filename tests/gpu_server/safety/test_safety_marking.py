"""AI-generated marking: metadata in every format and an invisible watermark with a job tag."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
import pywt
from PIL import Image

from gpu_server.safety import watermark
from gpu_server.safety.marking import DIGITAL_SOURCE_TYPE, encode_marked, read_marks
from tests.gpu_server.safety import drawings

SOURCE = drawings.png(drawings.shapes(768))


@pytest.mark.parametrize("fmt", ["png", "webp", "jpeg"])
def test_every_format_carries_generator_job_and_source_type(fmt: str) -> None:
    """PNG tEXt / XMP in WebP and JPEG name genpod, the job and trainedAlgorithmicMedia."""
    job_id = 'job-"7<&>'
    marks = read_marks(encode_marked(SOURCE, fmt, job_id))  # type: ignore[arg-type]
    assert (marks.generator, marks.job_id) == ("genpod", job_id)
    assert marks.digital_source_type == DIGITAL_SOURCE_TYPE
    assert marks.watermark_tag == watermark.job_tag(job_id)


@pytest.mark.parametrize("fmt", ["png", "webp", "jpeg"])
def test_encoded_format_is_the_one_requested(fmt: str) -> None:
    """The bytes decode as the requested format at the source's size."""
    with Image.open(io.BytesIO(encode_marked(SOURCE, fmt, "j"))) as img:  # type: ignore[arg-type]
        assert (img.format, img.size) == (
            {"png": "PNG", "webp": "WEBP", "jpeg": "JPEG"}[fmt],
            (768, 768),
        )


def test_watermark_is_invisible_and_absent_from_unmarked_images() -> None:
    """Embedding keeps PSNR above 38 dB; an unmarked image reads as no mark at all."""
    for picture in (drawings.figure(512), drawings.noise(512), drawings.gradient(512)):
        rgb = np.asarray(picture)
        marked = watermark.embed(rgb, "job-1")
        mse = np.mean((marked.astype(float) - rgb) ** 2)
        assert 10 * np.log10(255**2 / mse) > 38
        assert watermark.decode(rgb) is None
        assert watermark.decode(marked) == watermark.job_tag("job-1")


def test_watermark_survives_jpeg_80_but_not_a_half_size_resize() -> None:
    """The mark survives a JPEG 80 re-encode and is lost when the picture is resized."""
    marked = read_marks(encode_marked(SOURCE, "png", "job-9"))
    assert marked.watermark_tag == watermark.job_tag("job-9")
    img = Image.open(io.BytesIO(encode_marked(SOURCE, "png", "job-9"))).convert("RGB")
    out = io.BytesIO()
    img.save(out, format="JPEG", quality=80)
    assert read_marks(out.getvalue()).watermark_tag == watermark.job_tag("job-9")
    half = io.BytesIO()
    img.resize((384, 384)).save(half, format="PNG")
    assert read_marks(half.getvalue()).watermark_tag is None


def test_small_images_are_marked_by_metadata_only() -> None:
    """Images under 256 px carry metadata but no watermark (too few blocks to vote)."""
    marks = read_marks(encode_marked(drawings.png(drawings.shapes(128)), "png", "job-s"))
    assert (marks.job_id, marks.watermark_tag) == ("job-s", None)


def test_fast_singular_triples_match_lapack() -> None:
    """The batched top singular triple equals LAPACK's, degenerate and empty blocks included."""
    rng = np.random.default_rng(11)
    blocks = rng.normal(0, 40, (500, 4, 4))
    blocks[:50] = 0.0
    blocks[50:100] = np.diag([9.0, 9.0, 1.0, 0.0]) + rng.normal(0, 1e-7, (50, 4, 4))
    blocks[100:150] = np.full((4, 4), 120.0)  # flat: rank one
    s, u, v = watermark._top_singular(blocks)
    exact = np.linalg.svd(blocks, compute_uv=False)[:, 0]
    np.testing.assert_allclose(s, exact, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(np.einsum("nij,nj->ni", blocks, v), s[:, None] * u, atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, rtol=1e-9)


def test_marked_blocks_carry_their_bits_by_reference_dwt_dct_svd() -> None:
    """Read with PyWavelets and LAPACK, nearly every block's top singular value sits on its bit."""
    marked = watermark.embed(np.asarray(drawings.figure(512)), "job-ref")
    luma = cv2.cvtColor(marked, cv2.COLOR_RGB2YUV)[:, :, 0].astype(np.float64)
    approx, _ = pywt.dwt2(luma, "haar")
    n = approx.shape[0] // 4
    blocks = approx[: n * 4, : n * 4].reshape(n, 4, n, 4).transpose(0, 2, 1, 3).reshape(-1, 4, 4)
    dct = watermark._C @ blocks @ watermark._C.T
    phase = np.mod(np.linalg.svd(dct, compute_uv=False)[:, 0], watermark.SCALE) / watermark.SCALE
    bits = watermark.payload_bits("job-ref")[np.arange(len(phase)) % watermark.PAYLOAD_BITS]
    on_point = np.abs(phase - (0.25 + 0.5 * bits)) < 0.1
    assert on_point.mean() > 0.97
