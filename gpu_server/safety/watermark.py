"""Invisible watermark: DWT -> DCT -> SVD quantisation on the luma channel ("dwtDctSvd").

The technique follows the dwtDctSvd method of the `invisible-watermark` package, written
here on NumPy and OpenCV so the worker does not need torch. One Haar DWT level of luma,
4x4 blocks of the approximation band, an orthonormal DCT per block, and each block's
largest singular value quantised to carry one payload bit; the payload repeats over all
blocks and decoding takes a per-bit majority vote.

Everything runs on all blocks at once, with no per-block Python or BLAS call. The Haar
approximation band is twice each 2x2 mean. The orthonormal DCT D = C B C^T has B's
singular values, and its singular vectors are C u and C v for B's u and v, so quantising
D's largest singular value and transforming back is the rank-one change d u v^T of B
itself: the blocks' DCT and its inverse cancel and are not computed. Only the largest
singular triple is needed; it comes from powering B^T B, with LAPACK's SVD for the few
near-degenerate blocks where that does not converge. A change of the approximation band
alone spreads evenly over its 2x2 pixels (the detail bands are kept), and a luma change is
the same change on R, G and B, so the mark is added to the RGB pixels directly.
"""

from __future__ import annotations

import hashlib

import cv2
import numpy as np
from numpy.typing import NDArray

MAGIC = 0xA7C3  # 16 bits that say "genpod made this"
PAYLOAD_BITS = 64  # MAGIC + 48 bits of sha256(job id)
SCALE = 36.0  # quantisation step of the singular value: larger survives more, shows more
BLOCK = 4
MIN_SIDE = 256  # smaller images carry too few repeats for a reliable vote
SQUARINGS = 3  # (B^T B)^8: enough for all but near-degenerate blocks, which fall back
TOLERANCE = 1e-9  # relative eigen-residual above which a block takes the exact SVD

Floats = NDArray[np.float64]


def _dct_matrix(n: int = BLOCK) -> Floats:
    k = np.arange(n)[:, None]
    i = np.arange(n)[None, :]
    m = np.cos(np.pi * (2 * i + 1) * k / (2 * n)) * np.sqrt(2.0 / n)
    m[0] /= np.sqrt(2.0)
    return np.asarray(m, dtype=np.float64)


_C = _dct_matrix()
# An empty block's singular pair is arbitrary; LAPACK gives the DC coefficient's, which is
# the flat vector in the pixel domain.
_FLAT = _C[0].copy()


def job_tag(job_id: str) -> str:
    """The 48-bit job tag (12 hex digits) a watermark carries for a job id."""
    return hashlib.sha256(job_id.encode("utf-8")).hexdigest()[:12]


def payload_bits(job_id: str) -> NDArray[np.int64]:
    """MAGIC followed by the job tag, as 64 bits."""
    value = (MAGIC << 48) | int(job_tag(job_id), 16)
    return np.array([(value >> (PAYLOAD_BITS - 1 - i)) & 1 for i in range(PAYLOAD_BITS)])


def _approx_band(rgb: NDArray[np.uint8]) -> tuple[Floats, int, int]:
    """Haar approximation band of luma over the whole blocks; block rows and columns."""
    h, w = rgb.shape[:2]
    bh, bw = (h + 1) // 2 // BLOCK, (w + 1) // 2 // BLOCK
    rows, cols = bh * BLOCK * 2, bw * BLOCK * 2
    luma = cv2.cvtColor(np.ascontiguousarray(rgb[:rows, :cols]), cv2.COLOR_RGB2GRAY)
    if luma.shape != (rows, cols):  # odd side: Haar's symmetric extension repeats the edge
        luma = np.pad(luma, ((0, rows - luma.shape[0]), (0, cols - luma.shape[1])), mode="edge")
    # Haar approximation = twice the 2x2 mean; float32 holds those quarters exactly.
    mean = cv2.resize(luma.astype(np.float32), (cols // 2, rows // 2), interpolation=cv2.INTER_AREA)
    return np.asarray(mean, dtype=np.float64) * 2, bh, bw


def _blocks(band: Floats, bh: int, bw: int) -> Floats:
    """The band's 4x4 blocks, stacked in raster order."""
    return band.reshape(bh, BLOCK, bw, BLOCK).transpose(0, 2, 1, 3).reshape(-1, BLOCK, BLOCK)


def _top_singular(m: Floats) -> tuple[Floats, Floats, Floats]:
    """Largest singular value and its left and right vectors of each stacked 4x4 matrix."""
    gram = np.swapaxes(m, 1, 2) @ m
    # Scaled to trace 1 the top eigenvalue is at least 1/4, so (1/4)^8 stays far from
    # underflow: repeated squaring needs no further scaling to isolate its eigenvector.
    power = gram / np.maximum(np.trace(gram, axis1=1, axis2=2), 1e-300)[:, None, None]
    for _ in range(SQUARINGS):
        power = power @ power
    pick = np.argmax(np.diagonal(power, axis1=1, axis2=2), axis=1)
    v = np.take_along_axis(power, pick[:, None, None], axis=2)[:, :, 0]
    v /= np.maximum(np.linalg.norm(v, axis=1), 1e-300)[:, None]
    gv = (gram @ v[:, :, None])[:, :, 0]
    lam = np.einsum("ni,ni->n", v, gv)
    residual = np.linalg.norm(gv - lam[:, None] * v, axis=1)
    s = np.sqrt(np.maximum(lam, 0.0))
    empty = s < 1e-6
    u = (m @ v[:, :, None])[:, :, 0] / np.where(empty, 1.0, s)[:, None]
    u[empty], v[empty], s[empty] = _FLAT, _FLAT, 0.0
    bad = ~(residual <= TOLERANCE * lam) & ~empty
    if bad.any():  # near-equal top singular values: the exact answer from LAPACK
        uu, ss, vt = np.linalg.svd(m[bad])
        s[bad], u[bad], v[bad] = ss[:, 0], uu[:, :, 0], vt[:, 0, :]
    return s, u, v


def embed(rgb: NDArray[np.uint8], job_id: str) -> NDArray[np.uint8]:
    """The image with the job's payload embedded; images under MIN_SIDE come back unchanged."""
    h, w = rgb.shape[:2]
    if min(h, w) < MIN_SIDE:
        return rgb
    band, bh, bw = _approx_band(rgb)
    # The DCT's singular values are the block's own and its singular vectors C u, C v.
    s, u, v = _top_singular(_blocks(band, bh, bw))
    bits = payload_bits(job_id)[np.arange(len(s)) % PAYLOAD_BITS]
    shift = (np.floor(s / SCALE) + 0.25 + 0.5 * bits) * SCALE - s
    # Rank-one change in the DCT domain, C^T (d (C u)(C v)^T) C, is d u v^T on the band.
    change = shift[:, None, None] * u[:, :, None] * v[:, None, :]
    band_change = change.reshape(bh, bw, BLOCK, BLOCK).transpose(0, 2, 1, 3)
    # The inverse Haar step gives each of a cell's 2x2 pixels half the band's change.
    cell = np.rint(band_change.reshape(bh * BLOCK, bw * BLOCK) / 2).astype(np.int16)
    return _add_luma(rgb, cell)


def _add_luma(rgb: NDArray[np.uint8], cell: NDArray[np.int16]) -> NDArray[np.uint8]:
    """rgb plus a luma change given per 2x2 cell (equal on R, G and B), saturated."""
    h, w = rgb.shape[:2]
    up = (cell.shape[1] * 2, cell.shape[0] * 2)
    delta = cv2.resize(cv2.merge([cell] * 3), up, interpolation=cv2.INTER_NEAREST)[:h, :w]
    if delta.shape[:2] != (h, w):  # rows or columns past the last whole block stay as they are
        delta = np.pad(delta, ((0, h - delta.shape[0]), (0, w - delta.shape[1]), (0, 0)))
    # One saturating pass, uint8 + int16 -> uint8: no int16 copy of the whole picture.
    return np.asarray(cv2.add(np.ascontiguousarray(rgb), delta, dtype=cv2.CV_8U), dtype=np.uint8)


def read_bits(rgb: NDArray[np.uint8]) -> NDArray[np.float64]:
    """Per-bit soft vote in [0, 1]: above 0.5 reads as 1 (near 0 or 1 when a mark is present)."""
    band, bh, bw = _approx_band(rgb)
    s, _, _ = _top_singular(_blocks(band, bh, bw))
    phase = np.mod(s, SCALE) / SCALE  # 0.25 carries a 0, 0.75 carries a 1
    # Soft vote: +1 at the "1" point, -1 at the "0" point, 0 on the decision boundaries.
    votes = -np.sin(2 * np.pi * phase)
    index = np.arange(len(s)) % PAYLOAD_BITS
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
