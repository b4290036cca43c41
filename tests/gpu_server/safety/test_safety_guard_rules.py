"""Stage rules and thresholds of NudityGuard, driven by an injectable fake scorer."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest
from PIL import Image

from common.protocol import ContentContext
from gpu_server.safety import GuardConfig, GuardConfigError, NudityGuard, guard_config
from gpu_server.safety.classifiers import tile_starts, windows
from tests.gpu_server.safety import drawings

IMAGE = drawings.png(drawings.gradient(64))


class FakeScorer:
    """Answers fixed scores for every image and counts its calls."""

    def __init__(self, name: str, scores: dict[str, float], delay_s: float = 0.0) -> None:
        self.name = name
        self._scores = scores
        self._delay_s = delay_s
        self.calls = 0

    def scores(self, image: Image.Image) -> dict[str, float]:
        """The fixed scores (after an optional blocking delay)."""
        self.calls += 1
        if self._delay_s:
            time.sleep(self._delay_s)
        return dict(self._scores)


def _guard(parts: dict[str, float], nsfw: float = 0.0, **config: object) -> NudityGuard:
    scorers = [FakeScorer("nudenet", parts), FakeScorer("opennsfw", {"open_nsfw": nsfw})]
    return NudityGuard(scorers, guard_config(**config))


def ctx(policy: str = "sfw", image: bool = False, adult: bool = False) -> ContentContext:
    """A job's content context."""
    return ContentContext(policy=policy, image_conditioned=image, adult_allowed=adult)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("score", "blocked"),
    [(0.30, True), (0.2999, False), (0.95, True), (0.0, False)],
)
async def test_exposed_part_threshold_is_inclusive_at_030(score: float, blocked: bool) -> None:
    """An exposed breast scoring 0.30 or more blocks a sfw output; 0.2999 does not."""
    verdict = await _guard({"FEMALE_BREAST_EXPOSED": score}).check_output(IMAGE, ctx())
    assert verdict.blocked is blocked


@pytest.mark.parametrize(
    "label",
    [
        "FEMALE_BREAST_EXPOSED",
        "FEMALE_GENITALIA_EXPOSED",
        "MALE_GENITALIA_EXPOSED",
        "ANUS_EXPOSED",
        "BUTTOCKS_EXPOSED",
    ],
)
async def test_every_blocking_label_blocks(label: str) -> None:
    """Breasts, genitalia, anus and buttocks each block on their own."""
    assert (await _guard({label: 0.31}).check_output(IMAGE, ctx())).blocked


async def test_other_exposed_parts_do_not_block() -> None:
    """An exposed belly, feet or male chest alone is not nudity."""
    parts = {"BELLY_EXPOSED": 0.99, "FEET_EXPOSED": 0.9, "MALE_BREAST_EXPOSED": 0.9}
    assert not (await _guard(parts).check_output(IMAGE, ctx())).blocked


async def test_open_nsfw_applies_to_image_conditioned_jobs_only() -> None:
    """Open-NSFW 0.40 blocks a photo job's output; a text-only job never runs it."""
    guard = _guard({}, nsfw=0.40)
    assert (await guard.check_output(IMAGE, ctx("adult", image=True, adult=True))).blocked
    text_only = await guard.check_output(IMAGE, ctx())
    assert not text_only.blocked
    assert "open_nsfw" not in text_only.scores
    assert not (await _guard({}, nsfw=0.3999).check_input(IMAGE, ctx())).blocked


NUDE = {"FEMALE_GENITALIA_EXPOSED": 0.8}


@pytest.mark.parametrize(
    ("context", "blocked", "adult"),
    [
        (ctx("sfw"), True, False),
        (ctx("adult", adult=True), False, True),
        (ctx("adult", adult=False), True, False),
        (ctx("adult", image=True, adult=True), True, False),
        (ctx("sfw", image=True), True, False),
    ],
    ids=["sfw-text", "adult-text-confirmed", "adult-text-unconfirmed", "adult-photo", "sfw-photo"],
)
async def test_output_stage_matrix(context: ContentContext, blocked: bool, adult: bool) -> None:
    """Outputs: photo jobs blocked in every policy; text-only adult passes, flagged adult."""
    verdict = await _guard(NUDE).check_output(IMAGE, context)
    assert (verdict.blocked, verdict.adult) == (blocked, adult)


@pytest.mark.parametrize("context", [ctx("sfw"), ctx("adult", image=True, adult=True)])
async def test_input_photos_with_nudity_are_refused_in_every_policy(
    context: ContentContext,
) -> None:
    """A nude input photo is refused even under adult for a confirmed adult."""
    verdict = await _guard(NUDE).check_input(IMAGE, context)
    assert (verdict.blocked, verdict.category) == (True, "nudity")


@pytest.mark.parametrize(
    "values",
    [
        {"nudity_threshold": 0.31},
        {"open_nsfw_threshold": 0.5},
        {"classifiers": ("opennsfw",)},
        {"nudity_threshold": 0.1},
    ],
)
def test_looser_settings_are_refused_at_start_up(values: dict[str, object]) -> None:
    """Looser thresholds, moot ones under 0.2, or dropping the part detector fail at start-up."""
    with pytest.raises(GuardConfigError):
        guard_config(**values)


async def test_stricter_threshold_is_applied() -> None:
    """A stricter 0.25 threshold blocks a 0.27 score the default would pass."""
    parts = {"BUTTOCKS_EXPOSED": 0.27}
    assert not (await _guard(parts).check_output(IMAGE, ctx())).blocked
    assert (await _guard(parts, nudity_threshold=0.25).check_output(IMAGE, ctx())).blocked


async def test_log_keeps_job_category_scores_and_hash_not_the_image(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The screening log carries job id, category, scores and phash, and no image bytes."""
    caplog.set_level(logging.INFO, logger="genpod.safety")
    await _guard(NUDE).check_output(IMAGE, ctx(), job_id="job-42")
    (record,) = [r for r in caplog.records if r.name == "genpod.safety"]
    assert (record.job_id, record.category, record.blocked) == ("job-42", "nudity", True)  # type: ignore[attr-defined]
    assert record.scores == NUDE
    assert len(record.phash) == 16
    assert not any(isinstance(v, bytes) for v in vars(record).values())


async def test_inference_runs_off_the_event_loop() -> None:
    """A slow classifier does not stall other tasks on the loop."""
    guard = NudityGuard([FakeScorer("nudenet", {}, delay_s=0.3)], GuardConfig())
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.02)
            ticks += 1

    task = asyncio.create_task(ticker())
    await guard.check_output(IMAGE, ctx())
    task.cancel()
    assert ticks >= 5


def test_tiles_cover_the_image_with_overlap() -> None:
    """Tile starts cover every pixel and the whole image is always the first window."""
    assert tile_starts(2048, 768, 256) == [0, 512, 1024, 1280]
    assert tile_starts(700, 768, 256) == [0]
    plan = list(windows(2048, 1500, 768, 256, 1024))
    assert plan[0] == (0, 0, 2048, 1500)
    covered = {
        (x, y)
        for left, top, right, bottom in plan[1:]
        for x in (left, right - 1)
        for y in (top, bottom - 1)
    }
    assert (2047, 1499) in covered
    assert (0, 0) in covered
    assert list(windows(1024, 1024, 768, 256, 1024)) == [(0, 0, 1024, 1024)]
