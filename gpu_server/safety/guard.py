"""The image guard: screens input photos and generated outputs against the content policy.

Stage 2 (inputs): any nudity refuses the photo, in every policy.
Stage 3 (outputs): image-conditioned jobs are blocked on nudity in every policy; text-only
jobs are blocked under sfw and, under adult for confirmed adults, passed and flagged `adult`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Literal

import imagehash
from PIL import Image

from common.protocol import ContentContext
from gpu_server.safety.base import Verdict
from gpu_server.safety.classifiers import ImageClassifier, NudeNetClassifier, OpenNsfwClassifier
from gpu_server.safety.config import BLOCKING_LABELS, GuardConfig
from gpu_server.safety.decode import decode_rgb
from gpu_server.safety.errors import UndecodableImage

log = logging.getLogger("genpod.safety")

Stage = Literal["input", "output"]


class NudityGuard:
    """ImageGuard backed by one or more classifiers; models are built once and reused."""

    def __init__(self, classifiers: Sequence[ImageClassifier], config: GuardConfig) -> None:
        if not classifiers:
            raise ValueError("at least one classifier is required")
        self._classifiers = {c.name: c for c in classifiers}
        self.config = config

    async def check_input(self, image: bytes, ctx: ContentContext, *, job_id: str = "") -> Verdict:
        """Screen a user's photo before it reaches ComfyUI: nudity refuses it in every policy."""
        verdict = await asyncio.to_thread(self._screen, image, with_nsfw=True)
        return self._logged(verdict, "input", job_id)

    async def check_output(self, image: bytes, ctx: ContentContext, *, job_id: str = "") -> Verdict:
        """Screen one generated image before it is returned or stored."""
        with_nsfw = ctx.image_conditioned or self.config.open_nsfw_on_text_only
        verdict = await asyncio.to_thread(self._screen, image, with_nsfw=with_nsfw)
        return self._logged(_apply_policy(verdict, ctx), "output", job_id)

    def _screen(self, data: bytes, *, with_nsfw: bool) -> Verdict:
        """Decode and score; nudity verdicts are blocked until the policy says otherwise."""
        try:
            img = decode_rgb(data, max_pixels=self.config.max_pixels)
        except UndecodableImage:
            return Verdict(blocked=True, category="undecodable")
        scores = self.scores(img, with_nsfw=with_nsfw)
        phash = str(imagehash.phash(img))
        if self._is_nude(scores):
            return Verdict(blocked=True, category="nudity", scores=scores, phash=phash)
        return Verdict(blocked=False, scores=scores, phash=phash)

    def scores(self, img: Image.Image, *, with_nsfw: bool) -> dict[str, float]:
        """All classifier scores for one decoded image (Open-NSFW only when asked)."""
        scores: dict[str, float] = {}
        for name, classifier in self._classifiers.items():
            if name == "opennsfw" and not with_nsfw:
                continue
            scores.update(classifier.scores(img))
        return {k: round(v, 4) for k, v in scores.items()}

    def _is_nude(self, scores: dict[str, float]) -> bool:
        parts = any(
            scores.get(label, 0.0) >= self.config.nudity_threshold for label in BLOCKING_LABELS
        )
        return parts or scores.get("open_nsfw", 0.0) >= self.config.open_nsfw_threshold

    @staticmethod
    def _logged(verdict: Verdict, stage: Stage, job_id: str) -> Verdict:
        # Job id, category, scores and a perceptual hash only: never the image itself.
        level = logging.WARNING if verdict.blocked else logging.INFO
        fields = {
            "job_id": job_id,
            "stage": stage,
            "blocked": verdict.blocked,
            "category": verdict.category,
            "adult": verdict.adult,
            "scores": verdict.scores,
            "phash": verdict.phash,
        }
        # The same fields in the text (plain log files) and as attributes (structured logs).
        text = " ".join(f"{key}={value}" for key, value in fields.items())
        log.log(level, "image screened %s", text, extra=fields)
        return verdict


def _apply_policy(verdict: Verdict, ctx: ContentContext) -> Verdict:
    """Text-only adult jobs for confirmed adults pass nudity through, flagged `adult`."""
    if verdict.category != "nudity":
        return verdict
    if ctx.image_conditioned or ctx.policy != "adult" or not ctx.adult_allowed:
        return verdict
    return Verdict(
        blocked=False, category="nudity", adult=True, scores=verdict.scores, phash=verdict.phash
    )


def build_classifiers(config: GuardConfig) -> list[ImageClassifier]:
    """Construct the configured classifiers (loads the ONNX models; call once at start-up)."""
    built: list[ImageClassifier] = []
    for name in config.classifiers:
        if name == "nudenet":
            built.append(
                NudeNetClassifier(
                    resolution=config.inference_resolution,
                    single_pass_max=config.single_pass_max,
                    tile=config.tile_size,
                    overlap=config.tile_overlap,
                    max_side=config.max_side,
                )
            )
        else:
            built.append(OpenNsfwClassifier())
    return built


def build_guard(config: GuardConfig | None = None) -> NudityGuard:
    """The production guard: shipped NudeNet and Open-NSFW models with the given thresholds."""
    cfg = config or GuardConfig()
    return NudityGuard(build_classifiers(cfg), cfg)
