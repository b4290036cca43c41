"""Start-up checks: every template filled with every style's defaults must pass ComfyUI's schema.

A broken template or profile raises WorkflowError naming the file, the node and the input.
Model files are not checked here (they may still be downloading); /health reports them.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator

from common.protocol import ControlNetSpec, JobSpec, Mode
from common.styles import StyleCatalog, StyleProfile
from gpu_server.comfy_answers import validation_error
from gpu_server.comfy_schema import ObjectInfo, validate_prompt
from gpu_server.errors import GpuServerError, WorkflowError
from gpu_server.workflows.defaults import default_params
from gpu_server.workflows.filling import fill_graph
from gpu_server.workflows.templates import Template, TemplateSet

_UPLOADS = {"target": "genpod-check-target.png", "control": "genpod-check-control.png"}
_PIXEL = base64.b64encode(b"check").decode()


def referenced_models(catalog: StyleCatalog) -> dict[str, list[str]]:
    """Every model file the styles name, by ComfyUI model folder."""
    folders: dict[str, set[str]] = {
        "checkpoints": set(),
        "vae": set(),
        "loras": set(),
        "controlnet": set(),
        "upscale_models": {catalog.upscale.model},
    }
    for style in catalog.styles.values():
        folders["checkpoints"].add(style.checkpoint)
        folders["vae"].update([style.vae] if style.vae else [])
        folders["loras"].update(style.loras_offered)
        folders["controlnet"].update(style.controlnet.values())
    return {folder: sorted(files) for folder, files in folders.items()}


def check_workflows(templates: TemplateSet, catalog: StyleCatalog, info: ObjectInfo) -> int:
    """Validate every (template, style) pair; returns how many graphs were checked."""
    schema = info.with_installed(referenced_models(catalog))
    checked = 0
    for style in catalog.styles.values():
        check_profile(style, schema)
        for template, job in _variants(templates, style):
            _check_graph(template, job, style, catalog, schema)
            checked += 1
    return checked


def check_profile(style: StyleProfile, info: ObjectInfo) -> None:
    """Sampler and scheduler from ComfyUI's lists, resolutions a latent can have."""
    where = f"style {style.id!r} (styles.yaml)"
    for name, value in (("sampler_name", style.sampler), ("scheduler", style.scheduler)):
        options = info.combo_values("KSampler", name) or []
        if value not in options:
            raise WorkflowError(f"{where}: {name} {value!r} is not one of ComfyUI's {options}")
    for width, height in style.resolutions:
        if width % 8 or height % 8 or not (256 <= width <= 2048 and 256 <= height <= 2048):
            raise WorkflowError(
                f"{where}: resolution {width}x{height} is not a multiple of 8 in 256..2048"
            )


def _variants(templates: TemplateSet, style: StyleProfile) -> Iterator[tuple[Template, JobSpec]]:
    arch = style.architecture
    yield templates.pick(Mode.FREE, arch, controlnet=False), _job(style, Mode.FREE, None)
    for kind in style.controlnet:
        spec = ControlNetSpec(type=kind)
        yield templates.pick(Mode.FREE, arch, controlnet=True), _job(style, Mode.FREE, spec)
    yield templates.pick(Mode.RESTYLE, arch, controlnet=False), _job(style, Mode.RESTYLE, None)
    yield templates.pick(Mode.UPSCALE, arch, controlnet=False), _job(style, Mode.UPSCALE, None)


def _job(style: StyleProfile, mode: Mode, controlnet: ControlNetSpec | None) -> JobSpec:
    return JobSpec(
        job_id="startup-check",
        mode=mode,
        style=style.id,
        prompt="a lighthouse on a cliff",
        params=default_params(style, controlnet=controlnet),
        images={"target": _PIXEL, "control": _PIXEL},
    )


def _check_graph(
    template: Template, job: JobSpec, style: StyleProfile, catalog: StyleCatalog, info: ObjectInfo
) -> None:
    where = f"{template.path} with style {style.id!r} ({job.mode.value})"
    try:
        graph = fill_graph(
            template, job, style=style, upscale=catalog.upscale, uploads=_UPLOADS, prefix="check"
        )
    except GpuServerError as exc:
        raise WorkflowError(f"{where}: {exc.message}") from exc
    result = validate_prompt(graph, info, input_exists=lambda _name: True)
    if not result.is_ok or result.node_errors:
        body = {"error": result.error or {}, "node_errors": result.node_errors}
        raise WorkflowError(f"{where}: {validation_error(body).message}")
