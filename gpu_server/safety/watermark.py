"""Invisible watermark: DWT -> DCT -> SVD quantisation on the luma channel ("dwtDctSvd").

The technique follows the dwtDctSvd method of the `invisible-watermark` package, written
here on PyWavelets, NumPy and OpenCV so the worker does not need torch. One Haar DWT level
of luma, 4x4 blocks of the approximation band, an orthonormal DCT per block, and each
block's largest singular value quantised to carry one payload bit; the payload repeats
over all blocks and decoding takes a per-bit majority vote.
"""

from __future__ import annotations

import hashlib

import cv2
import numpy as np
import pywt
from numpy.typing import NDArray

MAGIC = 0xA7C3  # 16 bits that say "genpod made this"
PAYLOAD_BITS = 64  # MAGIC + 48 bits of sha256(job id)
SCALE = 36.0  # quantisation step of the singular value: larger survives more, shows more
BLOCK = 4
MIN_SIDE = 256  # smaller images carry too few repeats for a reliable vote

Floats = NDArray[np.float64]


def _dct_matrix(n: int = BLOCK) -> Floats:
    k = np.arange(n)[:, None]
    i = np.arange(n)[None, :]
    m = np.cos(np.pi * (2 * i + 1) * k / (2 * n)) * np.sqrt(2.0 / n)
    m[0] /= np.sqrt(2.0)
    return np.asarray(m, dtype=np.float64)


_C = _dct_matrix()


def job_tag(job_id: str) -> str:
    """The 48-bit job tag (12 hex digits) a watermark carries for a job id."""
    return hashlib.sha256(job_id.encode("utf-8")).hexdigest()[:12]


def payload_bits(job_id: str) -> NDArray[np.int64]:
    """MAGIC followed by the job tag, as 64 bits."""
    value = (MAGIC << 48) | int(job_tag(job_id), 16)
    return np.array([(value >> (PAYLOAD_BITS - 1 - i)) & 1 for i in range(PAYLOAD_BITS)])


def _blocks(band: Floats) -> tuple[Floats, int, int]:
    bh, bw = band.shape[0] // BLOCK, band.shape[1] // BLOCK
    cut = band[: bh * BLOCK, : bw * BLOCK]
    return cut.reshape(bh, BLOCK, bw, BLOCK).transpose(0, 2, 1, 3).reshape(-1, BLOCK, BLOCK), bh, bw


def _luma_band(rgb: NDArray[np.uint8]) -> tuple[Floats, Floats, tuple[Floats, Floats, Floats]]:
    yuv = cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV).astype(np.float64)
    approx, details = pywt.dwt2(yuv[:, :, 0], "haar")
    return yuv, approx, details


def embed(rgb: NDArray[np.uint8], job_id: str) -> NDArray[np.uint8]:
    """The image with the job's payload embedded; images under MIN_SIDE come back unchanged."""
    h, w = rgb.shape[:2]
    if min(h, w) < MIN_SIDE:
        return rgb
    yuv, approx, details = _luma_band(rgb)
    blocks, bh, bw = _blocks(approx)
    u, s, vt = np.linalg.svd(_C @ blocks @ _C.T)
    bits = payload_bits(job_id)[np.arange(len(blocks)) % PAYLOAD_BITS]
    s[:, 0] = (np.floor(s[:, 0] / SCALE) + 0.25 + 0.5 * bits) * SCALE
    marked = _C.T @ ((u * s[:, None, :]) @ vt) @ _C
    approx = approx.copy()
    approx[: bh * BLOCK, : bw * BLOCK] = (
        marked.reshape(bh, bw, BLOCK, BLOCK).transpose(0, 2, 1, 3).reshape(bh * BLOCK, bw * BLOCK)
    )
    yuv[:, :, 0] = pywt.idwt2((approx, details), "haar")[:h, :w]
    out = np.clip(np.rint(yuv), 0, 255).astype(np.uint8)
    return np.asarray(cv2.cvtColor(out, cv2.COLOR_YUV2RGB), dtype=np.uint8)


def read_bits(rgb: NDArray[np.uint8]) -> NDArray[np.float64]:
    """Per-bit soft vote in [0, 1]: above 0.5 reads as 1 (near 0 or 1 when a mark is present)."""
    _, approx, _ = _luma_band(rgb)
    blocks, _, _ = _blocks(approx)
    s = np.linalg.svd(_C @ blocks @ _C.T, compute_uv=False)
    phase = np.mod(s[:, 0], SCALE) / SCALE  # 0.25 carries a 0, 0.75 carries a 1
    # Soft vote: +1 at the "1" point, -1 at the "0" point, 0 on the decision boundaries.
    votes = -np.sin(2 * np.pi * phase)
    index = np.arange(len(blocks)) % PAYLOAD_BITS
    total = np.bincount(index, weights=votes, minlength=PAYLOAD_BITS)
    counts = np.maximum(np.bincount(index, minlength=PAYLOAD_BITS), 1)
    return np.asarray(0.5 + total / counts / 2, dtype=np.float64)


def decode(rgb: NDArray[np.uint8]) -> str | None:
    """The job tag a genpod watermark carries, or None when there is no readable mark."""
    if min(rgb.shape[:2]) < MIN_SIDE:
        return None
    bits = (read_bits(rgb) > 0.5).astype(np.int64)
    value = int("".join(map(str, bits)), 2)
    if value >> 48 != MAGIC:
        return None
    return f"{value & ((1 << 48) - 1):012x}"
