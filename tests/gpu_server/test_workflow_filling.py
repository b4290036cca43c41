"""Graph filling: every JobParams field lands in the right node of the right template."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from common.protocol import ControlNetSpec, JobSpec, LoraSpec, Mode
from common.styles import StyleCatalog, load_styles
from gpu_server.errors import JobRejected
from gpu_server.workflows import TemplateSet, fill_graph, load_templates
from gpu_server.workflows.defaults import default_params
from gpu_server.workflows.graph import Graph

REPO = Path(__file__).resolve().parents[2]
UPLOADS = {"target": "in-target.png", "control": "in-control.png"}
PIXEL = base64.b64encode(b"x").decode()


@pytest.fixture(scope="module")
def catalog() -> StyleCatalog:
    return load_styles()


@pytest.fixture(scope="module")
def templates() -> TemplateSet:
    return load_templates(REPO / "workflows")


def make_job(
    catalog: StyleCatalog, style: str, mode: Mode = Mode.FREE, **params: object
) -> JobSpec:
    base = default_params(catalog.styles[style], seed=1234).model_dump()
    return JobSpec(
        job_id="job-1",
        mode=mode,
        style=style,
        prompt="a red fox",
        negative_prompt="extra fingers",
        params={**base, **params},
        images={"target": PIXEL, "control": PIXEL},
    )


def fill(templates: TemplateSet, catalog: StyleCatalog, job: JobSpec) -> Graph:
    style = catalog.styles[job.style]
    template = templates.pick(
        job.mode, style.architecture, controlnet=job.params.controlnet is not None
    )
    return fill_graph(
        template, job, style=style, upscale=catalog.upscale, uploads=UPLOADS, prefix="pfx"
    )


def nodes_of(graph: Graph, class_type: str) -> list[dict]:
    return [node for node in graph.values() if node["class_type"] == class_type]


def only(graph: Graph, class_type: str) -> dict:
    found = nodes_of(graph, class_type)
    assert len(found) == 1, f"{len(found)} {class_type} nodes"
    return found[0]["inputs"]


def test_every_sampling_parameter_is_injected(templates, catalog):
    """steps, cfg, seed, sampler, scheduler, size and batch reach KSampler and the latent."""
    job = make_job(
        catalog,
        "realism",
        steps=41,
        cfg=9.5,
        seed=987654321,
        sampler="euler",
        scheduler="normal",
        width=832,
        height=1216,
        batch_size=3,
    )
    graph = fill(templates, catalog, job)
    sampler = only(graph, "KSampler")
    assert (sampler["steps"], sampler["cfg"], sampler["seed"]) == (41, 9.5, 987654321)
    assert (sampler["sampler_name"], sampler["scheduler"], sampler["denoise"]) == (
        "euler",
        "normal",
        1.0,
    )
    latent = only(graph, "EmptyLatentImage")
    assert (latent["width"], latent["height"], latent["batch_size"]) == (832, 1216, 3)
    assert only(graph, "SaveImage")["filename_prefix"] == "pfx"


def test_prompts_get_the_style_template_and_both_negatives(templates, catalog):
    """The positive text is the style's template around the prompt; negatives are joined."""
    graph = fill(templates, catalog, make_job(catalog, "anime"))
    texts = {
        node["_meta"]["title"]: node["inputs"]["text"] for node in nodes_of(graph, "CLIPTextEncode")
    }
    assert texts["$prompt"] == "masterpiece, best quality, anime style, a red fox"
    assert texts["$negative"].startswith(catalog.styles["anime"].negative_prompt)
    assert texts["$negative"].endswith(", extra fingers")


def test_architecture_picks_checkpoint_and_vae_never_mixed(templates, catalog):
    """An SD1.5 style uses its own checkpoint/VAE/ControlNet, an SDXL style its own."""
    for style_id in ("anime", "lux"):
        style = catalog.styles[style_id]
        graph = fill(templates, catalog, make_job(catalog, style_id, controlnet=ControlNetSpec()))
        assert only(graph, "CheckpointLoaderSimple")["ckpt_name"] == style.checkpoint
        assert only(graph, "VAELoader")["vae_name"] == style.vae
        assert only(graph, "ControlNetLoader")["control_net_name"] == style.controlnet["canny"]


@pytest.mark.parametrize("count", [0, 1, 2, 3])
def test_lora_chain_of_zero_to_three(templates, catalog, count):
    """LoRAs chain after the checkpoint; every former MODEL/CLIP consumer follows the chain."""
    loras = [LoraSpec(name=f"l{i}.safetensors", weight=0.1 * (i + 1)) for i in range(count)]
    graph = fill(templates, catalog, make_job(catalog, "realism", loras=loras))
    ckpt = next(k for k, n in graph.items() if n["class_type"] == "CheckpointLoaderSimple")
    chain = [k for k, n in graph.items() if n["class_type"] == "LoraLoader"]
    assert len(chain) == count
    previous = ckpt
    for node_id, lora in zip(chain, loras, strict=True):
        inputs = graph[node_id]["inputs"]
        assert inputs["model"] == [previous, 0]
        assert inputs["clip"] == [previous, 1]
        assert inputs["lora_name"] == lora.name
        assert inputs["strength_model"] == inputs["strength_clip"] == lora.weight
        previous = node_id
    last = chain[-1] if chain else ckpt
    assert only(graph, "KSampler")["model"] == [last, 0]
    for node in nodes_of(graph, "CLIPTextEncode"):
        assert node["inputs"]["clip"] == [last, 1]
    # nothing outside the chain still reads the checkpoint's MODEL or CLIP
    outside = [n for k, n in graph.items() if k not in chain]
    links = [v for n in outside for v in n["inputs"].values() if isinstance(v, list)]
    if count:
        assert [ckpt, 0] not in links
        assert [ckpt, 1] not in links


def test_restyle_injects_image_denoise_size_batch_and_canny(templates, catalog):
    """Restyle: uploaded photo, resize to the chosen size, denoise, batch, canny ControlNet."""
    job = make_job(
        catalog,
        "realism",
        Mode.RESTYLE,
        denoise=0.45,
        batch_size=2,
        width=1216,
        height=832,
        controlnet=ControlNetSpec(strength=1.3),
    )
    graph = fill(templates, catalog, job)
    assert only(graph, "LoadImage")["image"] == "in-target.png"
    resize = only(graph, "ImageScale")
    assert (resize["width"], resize["height"]) == (1216, 832)
    assert only(graph, "KSampler")["denoise"] == 0.45
    assert only(graph, "RepeatLatentBatch")["amount"] == 2
    assert only(graph, "ControlNetApplyAdvanced")["strength"] == 1.3
    assert len(nodes_of(graph, "Canny")) == 1


def test_free_mode_controlnet_depth_bypasses_canny(templates, catalog):
    """Free + depth ControlNet feeds the given depth map straight in (no Canny node)."""
    job = make_job(catalog, "anime", controlnet=ControlNetSpec(type="depth", strength=0.5))
    graph = fill(templates, catalog, job)
    assert nodes_of(graph, "Canny") == []
    load = next(k for k, n in graph.items() if n["class_type"] == "LoadImage")
    assert graph[load]["inputs"]["image"] == "in-control.png"
    apply = only(graph, "ControlNetApplyAdvanced")
    assert apply["image"] == [load, 0]
    assert apply["strength"] == 0.5
    assert only(graph, "ControlNetLoader")["control_net_name"] == "control_v11f1p_sd15_depth.pth"


def test_depth_controlnet_refused_for_a_style_without_one(templates, catalog):
    """A ControlNet type the style does not offer is a JobRejected naming the style."""
    job = make_job(catalog, "realism", controlnet=ControlNetSpec(type="depth"))
    with pytest.raises(JobRejected, match="realism"):
        fill(templates, catalog, job)


def test_upscale_uses_the_configured_model_and_photo(templates, catalog):
    """Upscale: architecture-free template with the configured upscaler and the uploaded photo."""
    graph = fill(templates, catalog, make_job(catalog, "anime", Mode.UPSCALE))
    assert only(graph, "UpscaleModelLoader")["model_name"] == catalog.upscale.model
    assert only(graph, "LoadImage")["image"] == "in-target.png"
    assert nodes_of(graph, "KSampler") == []


def test_style_without_vae_uses_the_checkpoint_vae(templates, catalog):
    """A profile without a VAE drops $vae; its consumers use the checkpoint's output 2."""
    style = catalog.styles["realism"].model_copy(update={"vae": None})
    job = make_job(catalog, "realism")
    template = templates.pick(Mode.FREE, "sdxl", controlnet=False)
    graph = fill_graph(
        template, job, style=style, upscale=catalog.upscale, uploads=UPLOADS, prefix="p"
    )
    ckpt = next(k for k, n in graph.items() if n["class_type"] == "CheckpointLoaderSimple")
    assert nodes_of(graph, "VAELoader") == []
    assert only(graph, "VAEDecode")["vae"] == [ckpt, 2]


def test_filling_never_changes_the_template(templates, catalog):
    """Each job gets a fresh copy; the loaded template stays as the operator wrote it."""
    template = templates.pick(Mode.FREE, "sdxl", controlnet=False)
    before = repr(template.graph)
    fill(templates, catalog, make_job(catalog, "realism", loras=[LoraSpec(name="a", weight=0.5)]))
    assert repr(template.graph) == before
