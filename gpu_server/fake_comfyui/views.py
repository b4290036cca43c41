"""File routes: /view (serve outputs, uploads, previews) and /upload/image."""

from __future__ import annotations

import io
import mimetypes

from aiohttp import web
from PIL import Image

from gpu_server.fake_comfyui.state import STATE


async def view(request: web.Request) -> web.StreamResponse:
    """Serve a file by filename/subfolder/type; empty 400/403/404 as ComfyUI answers."""
    query = request.rel_url.query
    if "filename" not in query:
        return web.Response(status=404)
    found = request.app[STATE].folders.view_path(
        query["filename"], query.get("type"), query.get("subfolder")
    )
    if isinstance(found, int):
        return web.Response(status=found)
    disposition = {"Content-Disposition": f'filename="{found.name}"'}
    if "preview" in query:
        return _reencode(found.read_bytes(), query["preview"], disposition)
    if query.get("channel") == "rgb":
        return _reencode(found.read_bytes(), "png", disposition)
    content_type = mimetypes.guess_type(found.name)[0] or "application/octet-stream"
    return web.FileResponse(found, headers={**disposition, "Content-Type": content_type})


def _reencode(data: bytes, spec: str, headers: dict[str, str]) -> web.Response:
    fmt, _, quality = spec.partition(";")
    fmt = fmt if fmt in ("webp", "jpeg", "png") else "webp"
    out = io.BytesIO()
    with Image.open(io.BytesIO(data)) as img:
        img.convert("RGB").save(out, format=fmt.upper(), quality=int(quality or 90))
    return web.Response(body=out.getvalue(), content_type=f"image/{fmt}", headers=headers)


async def upload_image(request: web.Request) -> web.Response:
    """Store a multipart upload with ComfyUI's dedupe rules; empty 400 when refused."""
    post = await request.post()
    image = post.get("image")
    if not isinstance(image, web.FileField) or not image.filename:
        return web.Response(status=400)
    kind = str(post.get("type") or "input")
    kind = kind if kind in ("input", "temp", "output") else "input"
    subfolder = str(post.get("subfolder", ""))
    overwrite = str(post.get("overwrite")) in ("true", "1")
    name = request.app[STATE].folders.store_upload(
        kind, subfolder, image.filename, image.file.read(), overwrite
    )
    if name is None:
        return web.Response(status=400)
    return web.json_response({"name": name, "subfolder": subfolder, "type": kind})


def add_file_routes(table: web.RouteTableDef) -> None:
    """Add /view and /upload/image to a route table."""
    table.get("/view")(view)
    table.post("/upload/image")(upload_image)
