"""Fill a template with one job's parameters: the function that turns a JobSpec into a graph."""

from __future__ import annotations

import copy
from typing import Any

from common.error_codes import ErrorCode
from common.protocol import JobSpec, Mode
from common.styles import StyleProfile, UpscaleProfile
from gpu_server.errors import JobRejected
from gpu_server.workflows.graph import Graph, bypass, insert_lora_chain, replace_output
from gpu_server.workflows.templates import Template


def fill_graph(
    template: Template,
    job: JobSpec,
    *,
    style: StyleProfile,
    upscale: UpscaleProfile,
    uploads: dict[str, str],
    prefix: str,
) -> Graph:
    """A fresh graph from the template with every injection point set for this job."""
    graph = copy.deepcopy(template.graph)
    _set(graph, template, "$save", filename_prefix=prefix)
    if "$input_image" in template.bindings:
        if "target" not in uploads:
            raise JobRejected("a target image is required", error_code=ErrorCode.IMAGE_REQUIRED)
        _set(graph, template, "$input_image", image=uploads["target"])
    if job.mode is Mode.UPSCALE:
        _set(graph, template, "$upscale_model", model_name=upscale.model)
        return graph
    _fill_model(graph, template, job, style)
    _fill_text(graph, template, job, style)
    _fill_sampling(graph, template, job)
    if "$controlnet" in template.bindings:
        _fill_controlnet(graph, template, job, style, uploads)
    return graph


def _set(graph: Graph, template: Template, title: str, **values: Any) -> None:
    for node_id in template.nodes(title):
        if node_id in graph:
            graph[node_id]["inputs"].update(values)


def _fill_model(graph: Graph, template: Template, job: JobSpec, style: StyleProfile) -> None:
    checkpoint = template.node("$checkpoint")
    assert checkpoint is not None  # required binding, checked when the template loaded
    _set(graph, template, "$checkpoint", ckpt_name=style.checkpoint)
    vae = template.node("$vae")
    if vae is not None and style.vae:
        _set(graph, template, "$vae", vae_name=style.vae)
    elif vae is not None:
        # No separate VAE in the profile: use the checkpoint's own (output 2).
        replace_output(graph, vae, (checkpoint, 2))
    insert_lora_chain(graph, checkpoint, job.params.loras)


def _fill_text(graph: Graph, template: Template, job: JobSpec, style: StyleProfile) -> None:
    parts = (style.negative_prompt, job.negative_prompt.strip())
    negative = ", ".join(part for part in parts if part)
    _set(graph, template, "$prompt", text=style.render_prompt(job.prompt))
    _set(graph, template, "$negative", text=negative)


def _fill_sampling(graph: Graph, template: Template, job: JobSpec) -> None:
    params = job.params
    denoise = params.denoise if job.mode is Mode.RESTYLE else 1.0
    _set(
        graph,
        template,
        "$sampler",
        seed=params.seed,
        steps=params.steps,
        cfg=params.cfg,
        sampler_name=params.sampler,
        scheduler=params.scheduler,
        denoise=denoise,
    )
    size = {"width": params.width, "height": params.height}
    _set(graph, template, "$latent", batch_size=params.batch_size, **size)
    _set(graph, template, "$resize", **size)
    _set(graph, template, "$batch", amount=params.batch_size)
    if params.batch_size > 1 and not template.nodes("$latent") + template.nodes("$batch"):
        raise JobRejected(f"{template.path.name} cannot make batches (no $latent or $batch node)")


def _fill_controlnet(
    graph: Graph, template: Template, job: JobSpec, style: StyleProfile, uploads: dict[str, str]
) -> None:
    spec = job.params.controlnet
    kind = spec.type if spec is not None else "canny"
    model = style.controlnet.get(kind)
    if model is None:
        raise JobRejected(
            f"style {style.id!r} has no {kind} ControlNet", error_code=ErrorCode.INVALID_PARAM
        )
    _set(graph, template, "$controlnet", control_net_name=model)
    if spec is not None:
        _set(graph, template, "$controlnet_apply", strength=spec.strength)
    if "$control_image" in template.bindings:
        if "control" not in uploads:
            raise JobRejected("a ControlNet image is required", error_code=ErrorCode.IMAGE_REQUIRED)
        _set(graph, template, "$control_image", image=uploads["control"])
    if kind != "canny":
        # Core ComfyUI has no depth preprocessor: a depth job brings its depth map.
        for node_id in template.nodes("$control_preprocess"):
            bypass(graph, node_id, "image")
