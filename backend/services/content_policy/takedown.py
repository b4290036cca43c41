"""Operator CLI: "did we make this image?" from the delivery registry and the image's marks.

    python -m backend.services.content_policy.takedown check IMAGE [--db PATH] [--json]
    python -m backend.services.content_policy.takedown tag WATERMARK_TAG [--db PATH]

Exit status 0 when the image matches a delivery (or carries genpod marks), 1 when it does
not, 2 when the image cannot be read.
"""

from __future__ import annotations

import argparse
import html
import io
import json
import re
import sys
from dataclasses import asdict
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from backend.services.content_policy.registry import (
    DEFAULT_MAX_DISTANCE,
    DeliveryRegistry,
    RegistryError,
)

_XMP_JOB = re.compile(r'genpod:JobId="([^"]*)"')


def metadata_job_id(image: bytes) -> str | None:
    """The job id written into the image's PNG text or XMP, when it is still there."""
    try:
        with Image.open(io.BytesIO(image)) as img:
            info = dict(img.info)
    except (UnidentifiedImageError, OSError, ValueError):
        return None
    if isinstance(info.get("genpod:job_id"), str):
        return str(info["genpod:job_id"])
    raw = info.get("xmp") or info.get("XML:com.adobe.xmp") or b""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    match = _XMP_JOB.search(text)
    return html.unescape(match.group(1)) if match else None


def check(image: bytes, registry: DeliveryRegistry, max_distance: int) -> dict[str, object]:
    """Everything the registry and the image's own marks say about one image."""
    matches = registry.lookup(image, max_distance=max_distance)
    meta_job = metadata_job_id(image)
    return {
        "made_here": bool(matches) or meta_job is not None,
        "matches": [asdict(m) for m in matches],
        "metadata_job_id": meta_job,
    }


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m backend.services.content_policy.takedown")
    sub = parser.add_subparsers(dest="command", required=True)
    cmd = sub.add_parser("check", help="answer 'did we make this image?'")
    cmd.add_argument("image", type=Path)
    cmd.add_argument("--db", type=Path, default=None, help="registry file (default: DATA_DIR)")
    cmd.add_argument("--max-distance", type=int, default=DEFAULT_MAX_DISTANCE)
    cmd.add_argument("--json", action="store_true", help="print JSON instead of text")
    tag = sub.add_parser("tag", help="job ids for a watermark tag read from an image")
    tag.add_argument("tag", help="12 hex digits (gpu_server.safety.watermark.decode)")
    tag.add_argument("--db", type=Path, default=None)
    return parser


def _default_db() -> Path:
    from backend.settings import BackendSettings  # noqa: PLC0415  # settings are read in main only

    return BackendSettings().data_dir / "delivered.sqlite3"


def _print(answer: dict[str, object], as_json: bool) -> None:
    if as_json:
        print(json.dumps(answer, indent=2))  # a CLI's answer goes to stdout
        return
    lines = ["made here: " + ("yes" if answer["made_here"] else "no")]
    for m in answer["matches"]:  # type: ignore[attr-defined]
        lines.append(f"job {m['job_id']} image {m['image_index']} distance {m['distance']}")
    if answer["metadata_job_id"]:
        lines.append(f"metadata names job {answer['metadata_job_id']}")
    print("\n".join(lines))


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit status."""
    args = _parser().parse_args(argv)
    if args.command == "tag":
        jobs = DeliveryRegistry(args.db or _default_db()).by_tag(args.tag.lower())
        print("\n".join(f"job {j}" for j in jobs) or "no job carries this tag")
        return 0 if jobs else 1
    try:
        image = args.image.read_bytes()
        registry = DeliveryRegistry(args.db or _default_db())
        answer = check(image, registry, args.max_distance)
    except (OSError, RegistryError) as exc:
        print(f"cannot check {args.image}: {exc}", file=sys.stderr)
        return 2
    _print(answer, args.json)
    return 0 if answer["made_here"] else 1


if __name__ == "__main__":
    sys.exit(main())
