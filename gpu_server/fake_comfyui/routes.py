"""HTTP and websocket routes of the fake ComfyUI, each also served under /api/."""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

from aiohttp import WSMsgType, web

from gpu_server.comfy_schema import validate_prompt
from gpu_server.fake_comfyui.config import MODEL_FOLDERS
from gpu_server.fake_comfyui.fake_routes import fake_routes
from gpu_server.fake_comfyui.state import STATE, FakeState
from gpu_server.fake_comfyui.views import add_file_routes

log = logging.getLogger("gpu_server.fake_comfyui")
routes = web.RouteTableDef()
FEATURES = {"supports_preview_metadata": True, "max_upload_size": 104857600}
CRASH = "500 Internal Server Error\n\nServer got itself in trouble"


def _state(request: web.Request) -> FakeState:
    return request.app[STATE]


async def _json_body(request: web.Request) -> Any:
    """The JSON body, or a ComfyUI-style 500 for malformed JSON (aiohttp's default page)."""
    try:
        return await request.json()
    except ValueError:
        raise web.HTTPInternalServerError(text=CRASH, headers={"Connection": "close"}) from None


@routes.post("/prompt")
async def post_prompt(request: web.Request) -> web.Response:
    """Validate and queue a prompt; 400 with error + node_errors when ComfyUI would refuse it."""
    state = _state(request)
    body = await _json_body(request)
    number = _number(state, body)
    record = {"number": number, "body": body, "accepted": False}
    state.submitted.append(record)
    if not isinstance(body, dict) or "prompt" not in body:
        error = {
            "type": "no_prompt",
            "message": "No prompt provided",
            "details": "No prompt provided",
            "extra_info": {},
        }
        return web.json_response({"error": error, "node_errors": {}}, status=400)
    prompt_id = str(body.get("prompt_id") or uuid.uuid4())
    prompt = body["prompt"]
    result = validate_prompt(
        prompt, state.info, input_exists=state.folders.input_exists,
        partial_execution_targets=body.get("partial_execution_targets"),
    )  # fmt: skip
    extra = dict(body.get("extra_data") or {})
    if "client_id" in body:
        extra["client_id"] = body["client_id"]
    record.update(prompt_id=prompt_id, accepted=result.is_ok)
    if not result.is_ok:
        return web.json_response(
            {"error": result.error, "node_errors": result.node_errors}, status=400
        )
    item = state.queue.item(number, prompt_id, result.prompt, extra, result.outputs)
    await state.queue.put(item)
    return web.json_response(
        {"prompt_id": prompt_id, "number": number, "node_errors": result.node_errors}
    )


def _number(state: FakeState, body: Any) -> float:
    """ComfyUI's queue number: given, or the next counter value (negated for `front`)."""
    if isinstance(body, dict) and "number" in body:
        return float(body["number"])
    number = state.next_number()
    return -number if isinstance(body, dict) and body.get("front") else number


@routes.get("/prompt")
async def get_prompt(request: web.Request) -> web.Response:
    """Queue length as exec_info."""
    return web.json_response(_state(request).queue.status())


@routes.get("/queue")
async def get_queue(request: web.Request) -> web.Response:
    """Running and pending prompts."""
    return web.json_response(_state(request).queue.snapshot())


@routes.post("/queue")
async def post_queue(request: web.Request) -> web.Response:
    """Clear the pending queue and/or delete pending prompts by id."""
    queue = _state(request).queue
    body = await _json_body(request)
    if body.get("clear"):
        await queue.wipe()
    for prompt_id in body.get("delete", []):
        await queue.delete(prompt_id)
    return web.Response(status=200)


@routes.post("/interrupt")
async def post_interrupt(request: web.Request) -> web.Response:
    """Interrupt the running prompt (all work without a prompt_id, else only that prompt)."""
    state = _state(request)
    try:
        body = await request.json()
    except ValueError:
        body = {}
    prompt_id = body.get("prompt_id") if isinstance(body, dict) else None
    if not prompt_id or state.queue.is_running(prompt_id):
        state.interrupted = True
    return web.Response(status=200)


@routes.get("/history")
async def get_history(request: web.Request) -> web.Response:
    """History entries, optionally the newest max_items."""
    query = request.rel_url.query
    max_items = int(query["max_items"]) if "max_items" in query else None
    offset = int(query.get("offset", -1))
    return web.json_response(_state(request).queue.get_history(max_items, offset))


@routes.get("/history/{prompt_id}")
async def get_history_item(request: web.Request) -> web.Response:
    """One history entry as {id: entry}, or {} when unknown or still running."""
    prompt_id = request.match_info["prompt_id"]
    entry = _state(request).queue.history.get(prompt_id)
    return web.json_response({prompt_id: entry} if entry else {})


@routes.post("/history")
async def post_history(request: web.Request) -> web.Response:
    """Clear the history or delete entries."""
    history = _state(request).queue.history
    body = await _json_body(request)
    if body.get("clear"):
        history.clear()
    for prompt_id in body.get("delete", []):
        history.pop(prompt_id, None)
    return web.Response(status=200)


@routes.get("/object_info")
async def get_object_info(request: web.Request) -> web.Response:
    """The whole node schema with this engine's installed models and input images."""
    return web.json_response(_state(request).live_info().data)


@routes.get("/object_info/{node_class}")
async def get_object_info_class(request: web.Request) -> web.Response:
    """One class's schema as {class: info}, {} when unknown."""
    node_class = request.match_info["node_class"]
    data = _state(request).live_info().data
    return web.json_response({node_class: data[node_class]} if node_class in data else {})


@routes.get("/models")
async def get_models(request: web.Request) -> web.Response:
    """The model folder names."""
    return web.json_response(MODEL_FOLDERS)


@routes.get("/models/{folder}")
async def get_model_folder(request: web.Request) -> web.Response:
    """Files installed in one model folder; 404 for an unknown folder."""
    folder = request.match_info["folder"]
    if folder not in MODEL_FOLDERS:
        return web.Response(status=404)
    return web.json_response(_state(request).config.models.get(folder, []))


@routes.get("/embeddings")
async def get_embeddings(request: web.Request) -> web.Response:
    """No embeddings are installed."""
    return web.json_response([])


@routes.get("/extensions")
async def get_extensions(request: web.Request) -> web.Response:
    """No frontend extensions."""
    return web.json_response([])


@routes.get("/features")
async def get_features(request: web.Request) -> web.Response:
    """Server feature flags."""
    return web.json_response(FEATURES)


@routes.get("/system_stats")
async def get_system_stats(request: web.Request) -> web.Response:
    """System and device info; the device is the demo engine, not a GPU."""
    gib = 1024**3
    system = {
        "os": "posix", "ram_total": 32 * gib, "ram_free": 24 * gib, "comfyui_version": "0.3.64",
        "required_frontend_version": "1.27.10", "installed_templates_version": "0.1.95",
        "required_templates_version": "0.1.95", "python_version": "fake",
        "pytorch_version": "none (demo engine)",
        "embedded_python": False, "argv": ["genpod-fake-comfyui", "--demo-engine"],
    }  # fmt: skip
    device = {
        "name": "genpod DEMO ENGINE (fake ComfyUI, no GPU)", "type": "demo", "index": 0,
        "vram_total": 24 * gib, "vram_free": 22 * gib,
        "torch_vram_total": 24 * gib, "torch_vram_free": 22 * gib,
    }  # fmt: skip
    return web.json_response({"system": system, "devices": [device]})


@routes.post("/free")
async def post_free(request: web.Request) -> web.Response:
    """Unload models / free memory; free_memory also empties the node cache."""
    body = await _json_body(request)
    if isinstance(body, dict) and body.get("free_memory"):
        _state(request).cache.clear()
    return web.Response(status=200)


@routes.get("/ws")
async def websocket(request: web.Request) -> web.WebSocketResponse:
    """The event socket: status with sid first, the running node on reconnect, feature flags."""
    state = _state(request)
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    sid = request.rel_url.query.get("clientId") or uuid.uuid4().hex
    state.hub.attach(sid, ws)
    try:
        await state.hub.send("status", {"status": state.queue.status(), "sid": sid}, sid)
        if state.hub.client_id == sid and state.hub.last_node_id is not None:
            await state.hub.send("executing", {"node": state.hub.last_node_id}, sid)
        first = True
        async for msg in ws:
            flags = _feature_flags(msg.data) if msg.type == WSMsgType.TEXT and first else None
            if flags is not None:
                state.hub.features[sid] = flags
                await state.hub.send("feature_flags", FEATURES, sid)
            first = False
    finally:
        state.hub.detach(sid, ws)
    return ws


def _feature_flags(text: str) -> dict[str, Any] | None:
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("type") != "feature_flags":
        return None
    flags = data.get("data")
    return flags if isinstance(flags, dict) else {}


def add_routes(app: web.Application) -> None:
    """Register every route at / and under /api/, plus the fake-only /fake/ routes."""
    table = web.RouteTableDef()
    add_file_routes(table)
    for group in (routes, table):
        for route in group:
            assert isinstance(route, web.RouteDef)
            app.router.add_route(route.method, route.path, route.handler)
            app.router.add_route(route.method, "/api" + route.path, route.handler)
    app.router.add_routes(fake_routes)
