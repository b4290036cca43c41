"""Perceptual-hash registry of delivered images, so takedown requests can be answered.

Every image the backend stores as a job result is recorded with its pHash; an operator can
later ask whether a given picture (recompressed, resized or lightly edited) came from here.
Only hashes, job ids and times are kept, never the image.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import logging
import sqlite3
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import imagehash
from PIL import Image, UnidentifiedImageError

log = logging.getLogger("genpod.registry")

DEFAULT_MAX_DISTANCE = 10  # of 64 pHash bits; recompression and resizing stay well under

_SCHEMA = """
CREATE TABLE IF NOT EXISTS delivered (
    phash TEXT NOT NULL,
    job_id TEXT NOT NULL,
    image_index INTEGER NOT NULL,
    job_tag TEXT NOT NULL,
    delivered_at REAL NOT NULL,
    PRIMARY KEY (job_id, image_index)
);
CREATE INDEX IF NOT EXISTS delivered_tag ON delivered (job_tag);
"""


class RegistryError(Exception):
    """Raised when an image given to the registry cannot be decoded."""


@dataclass(frozen=True)
class Delivery:
    """One recorded delivery and how far its hash is from the image asked about."""

    job_id: str
    image_index: int
    distance: int
    delivered_at: float
    phash: str


def job_tag(job_id: str) -> str:
    """The 12-hex-digit job tag the invisible watermark carries for a job id."""
    return hashlib.sha256(job_id.encode("utf-8")).hexdigest()[:12]


def phash_of(image: bytes) -> str:
    """The 64-bit perceptual hash of encoded image bytes, as 16 hex digits."""
    try:
        with Image.open(io.BytesIO(image)) as img:
            return str(imagehash.phash(img.convert("RGB")))
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise RegistryError(f"cannot decode image: {type(exc).__name__}") from exc


class DeliveryRegistry:
    """A small SQLite file (DATA_DIR/delivered.sqlite3 by default) of delivered hashes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as db, db:
            db.executescript(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=10.0)
        db.execute("PRAGMA journal_mode=WAL")
        return db

    def record_delivery(
        self, job_id: str, image: bytes, *, index: int = 0, at: float | None = None
    ) -> str:
        """Record one delivered image (idempotent per job and index); returns its pHash."""
        digest = phash_of(image)
        row = (digest, job_id, index, job_tag(job_id), time.time() if at is None else at)
        with closing(self._connect()) as db, db:
            db.execute("INSERT OR REPLACE INTO delivered VALUES (?, ?, ?, ?, ?)", row)
        return digest

    def lookup(self, image: bytes, *, max_distance: int = DEFAULT_MAX_DISTANCE) -> list[Delivery]:
        """Deliveries whose pHash is within max_distance bits of the image, nearest first."""
        target = imagehash.hex_to_hash(phash_of(image))
        with closing(self._connect()) as db:
            rows = db.execute(
                "SELECT phash, job_id, image_index, delivered_at FROM delivered"
            ).fetchall()
        found = [
            Delivery(job_id, index, int(target - imagehash.hex_to_hash(ph)), at, ph)
            for ph, job_id, index, at in rows
        ]
        return sorted((d for d in found if d.distance <= max_distance), key=lambda d: d.distance)

    def by_tag(self, tag: str) -> list[str]:
        """Job ids whose watermark tag is `tag`."""
        with closing(self._connect()) as db:
            rows = db.execute(
                "SELECT DISTINCT job_id FROM delivered WHERE job_tag = ?", (tag,)
            ).fetchall()
        return [str(r[0]) for r in rows]

    def forget_job(self, job_id: str) -> None:
        """Drop a job's records (kept by default: takedowns come long after retention)."""
        with closing(self._connect()) as db, db:
            db.execute("DELETE FROM delivered WHERE job_id = ?", (job_id,))


def record_result_images(registry: DeliveryRegistry, job_id: str, images_b64: list[str]) -> int:
    """Record a stored job result's images; a bad image is logged, never fails the result."""
    recorded = 0
    for index, data_b64 in enumerate(images_b64):
        try:
            registry.record_delivery(job_id, base64.b64decode(data_b64), index=index)
            recorded += 1
        except (RegistryError, binascii.Error, ValueError, sqlite3.Error) as exc:
            log.warning("delivery not recorded", extra={"job_id": job_id, "error": str(exc)})
    return recorded
