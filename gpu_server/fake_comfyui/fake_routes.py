"""Fake-only routes under /fake/: inject faults and inspect what was submitted."""

from __future__ import annotations

from aiohttp import web

from gpu_server.fake_comfyui.state import STATE

fake_routes = web.RouteTableDef()


@fake_routes.post("/fake/faults")
async def set_faults(request: web.Request) -> web.Response:
    """Change the injected faults; answers the faults now in force."""
    state = request.app[STATE]
    faults = state.faults
    try:
        faults.update(await request.json())
    except (ValueError, AttributeError) as exc:
        return web.json_response({"error_code": "invalid_request", "error": str(exc)}, status=400)
    if faults.down:  # a server that is down has no open sockets either
        await state.hub.close_all()
    return web.json_response(faults.describe())


@fake_routes.get("/fake/faults")
async def get_faults(request: web.Request) -> web.Response:
    """The faults now in force."""
    return web.json_response(request.app[STATE].faults.describe())


@fake_routes.post("/fake/next_output")
async def next_output(request: web.Request) -> web.Response:
    """Queue the request body as the bytes of the next saved output image."""
    data = await request.read()
    if not data:
        return web.json_response(
            {"error_code": "image_required", "error": "Send the image bytes as the body."},
            status=400,
        )
    faults = request.app[STATE].faults
    faults.next_outputs.append(data)
    return web.json_response({"queued": len(faults.next_outputs)})


@fake_routes.get("/fake/prompts")
async def prompts(request: web.Request) -> web.Response:
    """Every POST /prompt body received, with its number and whether it was accepted."""
    return web.json_response(request.app[STATE].submitted)


@fake_routes.post("/fake/models")
async def set_models(request: web.Request) -> web.Response:
    """Replace the installed model lists ({folder: [files]})."""
    state = request.app[STATE]
    models = await request.json()
    if not isinstance(models, dict):
        return web.json_response(
            {"error_code": "invalid_request", "error": "Send {folder: [files]}."}, status=400
        )
    state.config.models = models
    state.info = state.base_info.with_installed(models)
    return web.json_response(models)
