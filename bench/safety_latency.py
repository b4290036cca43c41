"""Image-guard latency per image on this CPU, with the shipped models (no GPU).

    .venv/bin/python bench/safety_latency.py [--rounds 20] [--encode-only]

Times check_output (decode + NudeNet at 640 px, tiled above 1024 px + pHash) for
text-only jobs, check_input (adds Open-NSFW) for photo jobs, and encode_marked.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import statistics
import sys
import time
from pathlib import Path

from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common.protocol import ContentContext
from gpu_server.safety import build_guard
from gpu_server.safety.marking import encode_marked


def _scene(size: int) -> bytes:
    img = Image.new("RGB", (size, size), (120, 150, 190))
    d = ImageDraw.Draw(img)
    for i in range(0, size, size // 8):
        d.rectangle([i, size // 2, i + size // 16, size], fill=(60 + i % 120, 90, 60))
    d.ellipse([size // 3, size // 8, size * 2 // 3, size * 3 // 8], fill=(250, 220, 120))
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


async def _time(call, rounds: int) -> list[float]:  # type: ignore[no-untyped-def]
    await call()  # warm-up: first ONNX run allocates
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        await call()
        times.append((time.perf_counter() - t) * 1000)
    return times


def _row(name: str, times: list[float]) -> str:
    p95 = sorted(times)[max(0, int(len(times) * 0.95) - 1)]
    return f"| {name} | {statistics.median(times):.0f} | {p95:.0f} | {min(times):.0f} |"


async def main(rounds: int, encode_only: bool) -> None:
    load_before = os.getloadavg()
    rows = ["| case | median ms | p95 ms | min ms |", "|---|---|---|---|"]
    if not encode_only:
        rows += await _detection_rows(rounds)
    rows += await _encode_rows(rounds)
    print("\n".join(rows))
    print(
        f"\nload average before/after: {load_before} / {os.getloadavg()}; cores: {os.cpu_count()}"
    )


async def _detection_rows(rounds: int) -> list[str]:
    guard = build_guard()
    text_only = ContentContext()
    photo = ContentContext(image_conditioned=True)
    rows = []
    for size in (512, 1024, 2048):
        png = _scene(size)
        n = rounds if size <= 1024 else max(3, rounds // 4)
        rows.append(
            _row(
                f"check_output text-only {size}²",
                await _time(lambda png=png: guard.check_output(png, text_only), n),
            )
        )
        rows.append(
            _row(
                f"check_input photo {size}²",
                await _time(lambda png=png: guard.check_input(png, photo), n),
            )
        )
    return rows


async def _encode_rows(rounds: int) -> list[str]:
    rows = []
    png = _scene(1024)
    for fmt in ("png", "webp", "jpeg"):
        rows.append(
            _row(
                f"encode_marked {fmt} 1024²",
                await _time(
                    lambda fmt=fmt: asyncio.to_thread(encode_marked, png, fmt, "bench"),
                    max(3, rounds // 2),
                ),
            )
        )
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--encode-only", action="store_true", help="only the encode_marked rows")
    args = parser.parse_args()
    asyncio.run(main(args.rounds, args.encode_only))
