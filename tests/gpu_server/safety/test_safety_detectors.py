"""The shipped detectors on drawn fixtures: what they flag, what they pass, what they refuse."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image

from common.protocol import ContentContext
from gpu_server.fake_comfyui.images import render_png
from gpu_server.safety import GuardConfig, NudeNetClassifier, NudityGuard, build_guard
from gpu_server.safety.config import BLOCKING_LABELS
from tests.gpu_server.safety import drawings

SFW = ContentContext()
PHOTO = ContentContext(policy="adult", image_conditioned=True, adult_allowed=True)


@pytest.fixture(scope="module")
def guard() -> NudityGuard:
    """The production guard with the shipped models, built once for the module."""
    return build_guard()


async def test_drawn_figure_is_blocked_as_nudity(guard: NudityGuard) -> None:
    """The drawn unclothed figure scores over 0.30 on an exposed-part label and is blocked."""
    verdict = await guard.check_output(drawings.png(drawings.figure(1024)), SFW, job_id="j")
    assert verdict.blocked
    assert verdict.category == "nudity"
    assert max(verdict.scores.get(label, 0.0) for label in BLOCKING_LABELS) >= 0.30
    assert len(verdict.phash) == 16


@pytest.mark.parametrize("name", ["shapes", "noise", "gradient"])
async def test_harmless_pictures_pass_input_and_output(guard: NudityGuard, name: str) -> None:
    """Shapes, noise and gradients pass both stages, including Open-NSFW on photo jobs."""
    data = drawings.png(getattr(drawings, name)())
    assert not (await guard.check_input(data, PHOTO)).blocked
    assert not (await guard.check_output(data, SFW)).blocked


async def test_small_region_in_large_canvas_is_caught_by_tiling(guard: NudityGuard) -> None:
    """A 320 px figure in a 2048 px canvas: the whole-image pass misses it, the tiles do not."""
    canvas = drawings.figure_in_canvas(320, 2048)
    whole_only = NudeNetClassifier(single_pass_max=4096, max_side=4096).scores(canvas)
    assert all(whole_only.get(label, 0.0) < 0.30 for label in BLOCKING_LABELS)
    verdict = await guard.check_output(drawings.png(canvas), SFW)
    assert verdict.blocked
    assert verdict.category == "nudity"


def _png_header(width: int, height: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return (
        b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + chunk + struct.pack(">I", zlib.crc32(chunk))
    )


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"definitely not an image",
        drawings.png(drawings.gradient(256))[:400],
        _png_header(60000, 60000),
    ],
    ids=["empty", "garbage", "truncated", "oversized"],
)
async def test_undecodable_images_count_as_unsafe(guard: NudityGuard, data: bytes) -> None:
    """Bytes that do not decode fully are blocked at both stages, never passed as safe."""
    for check in (guard.check_input, guard.check_output):
        verdict = await check(data, SFW)
        assert (verdict.blocked, verdict.category) == (True, "undecodable")


async def test_truncated_jpeg_is_unsafe(guard: NudityGuard) -> None:
    """A JPEG cut short (which some decoders would grey-fill) is blocked."""
    out = io.BytesIO()
    drawings.noise(512).save(out, format="JPEG", quality=90)
    verdict = await guard.check_input(out.getvalue()[: len(out.getvalue()) // 2], SFW)
    assert verdict.category == "undecodable"


def test_stricter_config_still_builds_the_real_models() -> None:
    """A stricter threshold builds a working guard with both shipped models."""
    g = build_guard(GuardConfig(nudity_threshold=0.25, open_nsfw_threshold=0.3))
    assert g.config.nudity_threshold == 0.25
    img = Image.new("RGB", (64, 64), "white")
    assert set(g.scores(img, with_nsfw=True)) >= {"open_nsfw"}


def test_demo_engine_pictures_are_not_flagged(guard: NudityGuard) -> None:
    """The fake ComfyUI's demo pictures pass the real detector (no flaky blocks in demo mode)."""
    flagged = []
    for seed in range(24):
        picture = Image.open(io.BytesIO(render_png(1024, 1024, seed, {}))).convert("RGB")
        scores = guard.scores(picture, with_nsfw=False)
        if any(scores.get(label, 0.0) >= 0.30 for label in BLOCKING_LABELS):
            flagged.append(seed)
    assert flagged == []
