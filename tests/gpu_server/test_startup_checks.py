"""Start-up refusal: a broken template or style profile stops the worker with a precise message."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from common.styles import load_styles
from gpu_server.comfy_schema import ObjectInfo
from gpu_server.errors import WorkflowError
from gpu_server.workflows import load_templates
from gpu_server.workflows.checks import check_profile, check_workflows

REPO = Path(__file__).resolve().parents[2]
OBJECT_INFO = REPO / "config" / "comfyui" / "object_info-0.3.64.json"


@pytest.fixture(scope="module")
def info() -> ObjectInfo:
    return ObjectInfo.load(OBJECT_INFO)


@pytest.fixture
def workflows(tmp_path: Path) -> Path:
    target = tmp_path / "workflows"
    shutil.copytree(REPO / "workflows", target)
    return target


def edit(path: Path, change) -> None:
    graph = json.loads(path.read_text())
    change(graph)
    path.write_text(json.dumps(graph))


def test_shipped_templates_and_styles_pass(info):
    """Every shipped template filled with every shipped style passes ComfyUI's validation."""
    checked = check_workflows(load_templates(REPO / "workflows"), load_styles(), info)
    assert checked == 17  # 4 styles x (free, controlnet per type, restyle, upscale) + anime depth


def test_wrong_link_names_file_node_and_input(workflows, info):
    """A VAEDecode fed a MODEL is refused with the file, node id, class and input in the message."""
    path = workflows / "sdxl" / "txt2img.json"
    edit(path, lambda g: g["7"]["inputs"].update(vae=["1", 0]))
    with pytest.raises(WorkflowError) as caught:
        check_workflows(load_templates(workflows), load_styles(), info)
    message = str(caught.value)
    assert str(path) in message
    assert "node 7 (VAEDecode)" in message
    assert "input vae" in message


def test_unknown_node_class_is_refused(workflows, info):
    """A node class ComfyUI does not have stops start-up and is named."""
    path = workflows / "sd15" / "restyle.json"
    edit(path, lambda g: g["13"].update(class_type="NoSuchResize"))
    with pytest.raises(WorkflowError, match=r"restyle\.json.*NoSuchResize"):
        check_workflows(load_templates(workflows), load_styles(), info)


def test_missing_binding_is_refused(workflows):
    """A template that lost its $sampler title cannot load, and the message says which binding."""
    path = workflows / "sdxl" / "restyle.json"
    edit(path, lambda g: g["6"]["_meta"].update(title="KSampler"))
    with pytest.raises(WorkflowError, match=r"restyle\.json: no node titled '\$sampler'"):
        load_templates(workflows)


def test_binding_without_its_input_is_refused(workflows):
    """A bound node missing an input the filler sets is refused naming node and input."""
    path = workflows / "sdxl" / "txt2img.json"
    edit(path, lambda g: g["5"]["inputs"].pop("batch_size"))
    with pytest.raises(
        WorkflowError, match=r"node 5 \(\$latent, EmptyLatentImage\) has no input 'batch_size'"
    ):
        load_templates(workflows)


def test_ui_format_export_is_refused(workflows):
    """A UI-format file (nodes/links) instead of 'Export (API)' gets a plain explanation."""
    (workflows / "sdxl" / "txt2img.json").write_text(json.dumps({"nodes": [], "links": []}))
    with pytest.raises(WorkflowError, match="not an API-format workflow"):
        load_templates(workflows)


def test_profile_with_unknown_sampler_is_refused(info):
    """A style whose sampler is not in ComfyUI's list stops start-up naming the style."""
    style = load_styles().styles["lux"].model_copy(update={"sampler": "warp_drive"})
    with pytest.raises(WorkflowError, match=r"style 'lux'.*sampler_name 'warp_drive'"):
        check_profile(style, info)


def test_profile_with_odd_resolution_is_refused(info):
    """A resolution that is not a multiple of 8 is refused naming the style and the size."""
    style = load_styles().styles["anime"].model_copy(update={"resolutions": [(513, 768)]})
    with pytest.raises(WorkflowError, match=r"style 'anime'.*513x768"):
        check_profile(style, info)
