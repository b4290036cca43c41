"""The contract between the executor and the image side of the content policy."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

from common.protocol import ContentContext

Category = Literal["ok", "nudity", "undecodable"]


@dataclass(frozen=True)
class Verdict:
    """Outcome of screening one image; scores are for logs only, never for users."""

    blocked: bool
    category: Category = "ok"
    adult: bool = False
    scores: dict[str, float] = field(default_factory=dict)
    phash: str = ""


class ImageGuard(Protocol):
    """Screens input photos and generated outputs; blocked images never leave the worker.

    job_id is for the screening log only (job id, category, scores, pHash; never pixels).
    """

    async def check_input(self, image: bytes, ctx: ContentContext, *, job_id: str = "") -> Verdict:
        """Screen a user's photo before it reaches ComfyUI."""
        ...

    async def check_output(self, image: bytes, ctx: ContentContext, *, job_id: str = "") -> Verdict:
        """Screen one generated image before it is returned or stored."""
        ...
