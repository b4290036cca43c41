"""The prompt validator answers exactly what ComfyUI 0.3.64 answered in the recorded exchanges."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from gpu_server.comfy_schema import (
    ObjectInfo,
    is_output_node,
    model_missing,
    validate_prompt,
)

REPO = Path(__file__).resolve().parents[2]
SCHEMA = REPO / "config" / "comfyui" / "object_info-0.3.64.json"
# The recording machine's model files, so that recorded prompts validate as they did there.
RECORDED_MODELS = {
    "checkpoints": ["random_sd15.safetensors", "random_sdxl.safetensors"],
    "controlnet": ["random_cn_sd15.safetensors"],
}

# Recorded by a real ComfyUI 0.3.64 (validation_error transcript): the base workflow, then each
# variant as the nodes it changed or removed, the HTTP status and the body (tracebacks left out).
BASE_WORKFLOW = {
    "1": {
        "class_type": "CheckpointLoaderSimple",
        "inputs": {"ckpt_name": "random_sd15.safetensors"},
    },
    "2": {
        "class_type": "CLIPTextEncode",
        "inputs": {"text": "a photo of a red fox in the snow, highly detailed", "clip": ["1", 1]},
    },
    "3": {
        "class_type": "CLIPTextEncode",
        "inputs": {"text": "blurry, low quality", "clip": ["1", 1]},
    },
    "4": {"class_type": "EmptyLatentImage", "inputs": {"width": 64, "height": 64, "batch_size": 1}},
    "5": {
        "class_type": "KSampler",
        "inputs": {
            "model": ["1", 0],
            "seed": 392517901,
            "steps": 2,
            "cfg": 7.0,
            "sampler_name": "euler",
            "scheduler": "normal",
            "positive": ["2", 0],
            "negative": ["3", 0],
            "latent_image": ["4", 0],
            "denoise": 1.0,
        },
    },
    "6": {"class_type": "VAEDecode", "inputs": {"samples": ["5", 0], "vae": ["1", 2]}},
    "7": {
        "class_type": "SaveImage",
        "inputs": {"images": ["6", 0], "filename_prefix": "rec_validation"},
    },
}

# The recorded input configs (copied from object_info into the answers).
STEPS_CONFIG = [
    "INT",
    {
        "default": 20,
        "min": 1,
        "max": 10000,
        "tooltip": "The number of steps used in the denoising process.",
    },
]
SAVE_IMAGES_CONFIG = ["IMAGE", {"tooltip": "The images to save."}]


def ksampler(*, drop: str | None = None, **inputs: Any) -> dict[str, Any]:
    """The base workflow's KSampler with some inputs set to other values, or one left out."""
    node = copy.deepcopy(BASE_WORKFLOW["5"])
    node["inputs"].update(inputs)
    if drop is not None:
        del node["inputs"][drop]
    return node


def change(removed: list[str] | None = None, **changed: dict[str, Any]) -> dict[str, Any]:
    """A variant of the base workflow: nodes (by id, as n<id>) replaced or added, ids removed."""
    nodes = {node_id.removeprefix("n"): node for node_id, node in changed.items()}
    return {"changed": nodes, "removed": removed or []}


def input_error(kind: str, message: str, details: str, **extra_info: Any) -> dict[str, Any]:
    """One entry of a node's errors list."""
    return {"type": kind, "message": message, "details": details, "extra_info": extra_info}


def node_error(class_type: str, error: dict[str, Any], output: str = "7") -> dict[str, Any]:
    """A node_errors entry: one error, the output that depends on the node."""
    return {"errors": [error], "dependent_outputs": [output], "class_type": class_type}


def graph_error(kind: str, message: str, details: str = "") -> dict[str, Any]:
    """A 400 body with a prompt-level error and no node errors."""
    error = {"type": kind, "message": message, "details": details, "extra_info": {}}
    return {"error": error, "node_errors": {}}


def outputs_failed(**node_errors: dict[str, Any]) -> dict[str, Any]:
    """A 400 body: every output failed validation, node_errors keyed by node id (as n<id>)."""
    body = graph_error("prompt_outputs_failed_validation", "Prompt outputs failed validation")
    body["node_errors"] = {node_id.removeprefix("n"): err for node_id, err in node_errors.items()}
    return body


def missing(name: str) -> dict[str, Any]:
    """KSampler's error for a required input left out."""
    error = input_error(
        "required_input_missing", "Required input is missing", name, input_name=name
    )
    return outputs_failed(n5=node_error("KSampler", error))


def steps_too_small() -> dict[str, Any]:
    """KSampler's error for steps = 0."""
    error = input_error(
        "value_smaller_than_min",
        "Value 0 smaller than min of 1",
        "steps",
        input_name="steps",
        input_config=STEPS_CONFIG,
        received_value=0,
    )
    return node_error("KSampler", error)


RECORDED = [
    (
        "unknown_checkpoint",
        change(
            n1={
                "class_type": "CheckpointLoaderSimple",
                "inputs": {"ckpt_name": "does_not_exist.safetensors"},
            }
        ),
        400,
        outputs_failed(
            n1=node_error(
                "CheckpointLoaderSimple",
                input_error(
                    "value_not_in_list",
                    "Value not in list",
                    "ckpt_name: 'does_not_exist.safetensors' not in "
                    "['random_sd15.safetensors', 'random_sdxl.safetensors']",
                    input_name="ckpt_name",
                    input_config=[
                        ["random_sd15.safetensors", "random_sdxl.safetensors"],
                        {"tooltip": "The name of the checkpoint (model) to load."},
                    ],
                    received_value="does_not_exist.safetensors",
                ),
            )
        ),
    ),
    ("steps_missing", change(n5=ksampler(drop="steps")), 400, missing("steps")),
    ("model_link_missing", change(n5=ksampler(drop="model")), 400, missing("model")),
    ("steps_zero", change(n5=ksampler(steps=0)), 400, outputs_failed(n5=steps_too_small())),
    (
        "denoise_too_big",
        change(n5=ksampler(denoise=1.5)),
        400,
        outputs_failed(
            n5=node_error(
                "KSampler",
                input_error(
                    "value_bigger_than_max",
                    "Value 1.5 bigger than max of 1.0",
                    "denoise",
                    input_name="denoise",
                    input_config=[
                        "FLOAT",
                        {
                            "default": 1.0,
                            "min": 0.0,
                            "max": 1.0,
                            "step": 0.01,
                            "tooltip": "The amount of denoising applied, lower values will "
                            "maintain the structure of the initial image allowing for "
                            "image to image sampling.",
                        },
                    ],
                    received_value=1.5,
                ),
            )
        ),
    ),
    (
        "steps_not_int",
        change(n5=ksampler(steps="many")),
        400,
        outputs_failed(
            n5=node_error(
                "KSampler",
                input_error(
                    "invalid_input_type",
                    "Failed to convert an input value to a INT value",
                    "steps, many, invalid literal for int() with base 10: 'many'",
                    input_name="steps",
                    input_config=STEPS_CONFIG,
                    received_value="many",
                    exception_message="invalid literal for int() with base 10: 'many'",
                ),
            )
        ),
    ),
    (
        "unknown_sampler",
        change(n5=ksampler(sampler_name="no_such_sampler")),
        400,
        outputs_failed(
            n5=node_error(
                "KSampler",
                input_error(
                    "value_not_in_list",
                    "Value not in list",
                    "sampler_name: 'no_such_sampler' not in (list of length 42)",
                    input_name="sampler_name",
                    input_config=None,
                    received_value="no_such_sampler",
                ),
            )
        ),
    ),
    (
        "unknown_class",
        change(n8={"class_type": "NoSuchNode", "inputs": {}}),
        400,
        graph_error(
            "invalid_prompt",
            "Cannot execute because node NoSuchNode does not exist.",
            "Node ID '#8'",
        ),
    ),
    (
        "no_output",
        change(removed=["7"]),
        400,
        graph_error("prompt_no_outputs", "Prompt has no outputs"),
    ),
    (
        "missing_class_type",
        change(n4={"inputs": {"width": 64, "height": 64, "batch_size": 1}}),
        400,
        graph_error(
            "invalid_prompt",
            "Cannot execute because a node is missing the class_type property.",
            "Node ID '#4'",
        ),
    ),
    (
        "vae_fed_model",
        change(n6={"class_type": "VAEDecode", "inputs": {"samples": ["5", 0], "vae": ["1", 0]}}),
        400,
        outputs_failed(
            n6=node_error(
                "VAEDecode",
                input_error(
                    "return_type_mismatch",
                    "Return type mismatch between linked nodes",
                    "vae, received_type(MODEL) mismatch input_type(VAE)",
                    input_name="vae",
                    input_config=[
                        "VAE",
                        {"tooltip": "The VAE model used for decoding the latent."},
                    ],
                    received_type="MODEL",
                    linked_node=["1", 0],
                ),
            )
        ),
    ),
    (
        "link_to_missing_node",
        change(n6={"class_type": "VAEDecode", "inputs": {"samples": ["99", 0], "vae": ["1", 2]}}),
        400,
        outputs_failed(
            n6=node_error(
                "VAEDecode",
                input_error(
                    "exception_during_inner_validation",
                    "Exception when validating inner node",
                    "'99'",
                    input_name="images",
                    input_config=SAVE_IMAGES_CONFIG,
                    exception_message="'99'",
                    exception_type="KeyError",
                    linked_node=["6", 0],
                ),
            )
        ),
    ),
    (
        "two_bad_nodes",
        change(
            n4={
                "class_type": "EmptyLatentImage",
                "inputs": {"width": 7, "height": 64, "batch_size": 1},
            },
            n5=ksampler(steps=0),
        ),
        400,
        outputs_failed(
            n4=node_error(
                "EmptyLatentImage",
                input_error(
                    "value_smaller_than_min",
                    "Value 7 smaller than min of 16",
                    "width",
                    input_name="width",
                    input_config=[
                        "INT",
                        {
                            "default": 512,
                            "min": 16,
                            "max": 16384,
                            "step": 8,
                            "tooltip": "The width of the latent images in pixels.",
                        },
                    ],
                    received_value=7,
                ),
            ),
            n5=steps_too_small(),
        ),
    ),
    ("no_prompt", None, 400, graph_error("no_prompt", "No prompt provided", "No prompt provided")),
    (
        "one_of_two_outputs_invalid",
        change(
            n8={
                "class_type": "SaveImage",
                "inputs": {"images": ["1", 2], "filename_prefix": "rec_validation_bad"},
            }
        ),
        200,
        {
            "prompt_id": "3a39f6b1-b1a5-4f27-8787-715c2001dd18",
            "number": 69,
            "node_errors": {
                "8": node_error(
                    "SaveImage",
                    input_error(
                        "return_type_mismatch",
                        "Return type mismatch between linked nodes",
                        "images, received_type(VAE) mismatch input_type(IMAGE)",
                        input_name="images",
                        input_config=SAVE_IMAGES_CONFIG,
                        received_type="VAE",
                        linked_node=["1", 2],
                    ),
                    output="8",
                )
            },
        },
    ),
]


@pytest.fixture(scope="module")
def info() -> ObjectInfo:
    return ObjectInfo.load(SCHEMA).with_installed(RECORDED_MODELS)


def variant(change: dict[str, Any]) -> dict[str, Any]:
    prompt = copy.deepcopy(BASE_WORKFLOW)
    for node_id in change["removed"]:
        del prompt[node_id]
    prompt.update(copy.deepcopy(change["changed"]))
    return prompt


def without_tracebacks(node_errors: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(node_errors)
    for entry in out.values():
        for error in entry["errors"]:
            error["extra_info"].pop("traceback", None)
    return out


@pytest.mark.parametrize(
    ("name", "change", "status", "body"),
    [case for case in RECORDED if case[1] is not None],
    ids=[case[0] for case in RECORDED if case[1] is not None],
)
def test_recorded_validation_answers(info, name, change, status, body) -> None:
    """Every recorded invalid prompt gets the same error, node_errors and accept/refuse verdict."""
    result = validate_prompt(variant(change), info)
    assert result.is_ok == (status == 200)
    assert without_tracebacks(result.node_errors) == body["node_errors"]
    if status == 400:
        assert result.error == body["error"]


def test_valid_prompt_has_its_output(info) -> None:
    """The unchanged workflow is valid and its SaveImage is the output to execute."""
    result = validate_prompt(copy.deepcopy(BASE_WORKFLOW), info)
    assert result.is_ok
    assert result.error is None
    assert result.outputs == ["7"]
    assert result.node_errors == {}


def test_partly_valid_prompt_runs_only_the_valid_output(info) -> None:
    """One of two outputs invalid: accepted, only the valid output is executed."""
    prompt = copy.deepcopy(BASE_WORKFLOW)
    prompt["8"] = {
        "class_type": "SaveImage",
        "inputs": {"images": ["1", 2], "filename_prefix": "x"},
    }
    result = validate_prompt(prompt, info)
    assert result.is_ok
    assert result.outputs == ["7"]
    assert list(result.node_errors) == ["8"]


def test_inner_exception_carries_a_traceback(info) -> None:
    """A link to a missing node is charged to the linking node, with KeyError and a traceback."""
    prompt = copy.deepcopy(BASE_WORKFLOW)
    prompt["6"]["inputs"]["samples"] = ["99", 0]
    error = validate_prompt(prompt, info).node_errors["6"]["errors"][0]
    assert error["type"] == "exception_during_inner_validation"
    assert error["extra_info"]["exception_type"] == "KeyError"
    assert error["extra_info"]["traceback"]
    assert isinstance(error["extra_info"]["traceback"][0], str)


def test_output_with_missing_link_fails_at_the_top(info) -> None:
    """An output node linking to a missing node gets exception_during_validation and details."""
    prompt = copy.deepcopy(BASE_WORKFLOW)
    prompt["7"]["inputs"]["images"] = ["42", 0]
    result = validate_prompt(prompt, info)
    assert result.error is not None
    assert result.error["type"] == "prompt_outputs_failed_validation"
    assert result.error["details"] == "Exception when validating node: '42'"
    assert result.node_errors["7"]["errors"][0]["type"] == "exception_during_validation"


def test_output_node_own_error_fills_details(info) -> None:
    """When the output node itself is invalid, error.details lists its reasons."""
    prompt = copy.deepcopy(BASE_WORKFLOW)
    del prompt["7"]["inputs"]["filename_prefix"]
    result = validate_prompt(prompt, info)
    assert result.error is not None
    assert result.error["details"] == "Required input is missing: filename_prefix"


def test_values_are_converted_like_comfyui(info) -> None:
    """Numeric strings are converted before the range check, in a copy of the prompt."""
    prompt = copy.deepcopy(BASE_WORKFLOW)
    prompt["5"]["inputs"]["steps"] = "3"
    result = validate_prompt(prompt, info)
    assert result.is_ok
    assert result.prompt["5"]["inputs"]["steps"] == 3
    assert prompt["5"]["inputs"]["steps"] == "3"


def test_with_installed_replaces_model_lists() -> None:
    """Installed files replace the recording machine's lists for every loader of a folder."""
    base = ObjectInfo.load(SCHEMA)
    installed = base.with_installed(
        {
            "checkpoints": ["a.safetensors"],
            "loras": ["l.safetensors"],
            "vae": ["v.safetensors"],
            "controlnet": ["c.pth"],
            "upscale_models": ["up_x4.pth"],
            "input": ["in.png"],
        }
    )
    assert installed.combo_values("CheckpointLoaderSimple", "ckpt_name") == ["a.safetensors"]
    assert installed.combo_values("CheckpointLoader", "ckpt_name") == ["a.safetensors"]
    assert installed.combo_values("LoraLoader", "lora_name") == ["l.safetensors"]
    assert installed.combo_values("LoraLoaderModelOnly", "lora_name") == ["l.safetensors"]
    assert installed.combo_values("VAELoader", "vae_name") == ["v.safetensors", "pixel_space"]
    assert installed.combo_values("ControlNetLoader", "control_net_name") == ["c.pth"]
    assert installed.combo_values("UpscaleModelLoader", "model_name") == ["up_x4.pth"]
    assert installed.combo_values("LoadImage", "image") == ["in.png"]
    assert (
        base.combo_values("CheckpointLoaderSimple", "ckpt_name") == RECORDED_MODELS["checkpoints"]
    )


def test_new_style_combo_is_checked(info) -> None:
    """A COMBO-style input (UpscaleModelLoader) rejects a file that is not installed."""
    prompt = {
        "1": {"class_type": "UpscaleModelLoader", "inputs": {"model_name": "nope.pth"}},
        "2": {"class_type": "LoadImage", "inputs": {"image": "in.png"}},
        "3": {
            "class_type": "ImageUpscaleWithModel",
            "inputs": {"upscale_model": ["1", 0], "image": ["2", 0]},
        },
        "4": {"class_type": "SaveImage", "inputs": {"images": ["3", 0], "filename_prefix": "u"}},
    }
    local = info.with_installed({"upscale_models": ["RealESRGAN_x4plus.pth"]})
    result = validate_prompt(prompt, local, input_exists=lambda name: name == "in.png")
    error = result.node_errors["1"]["errors"][0]
    assert error["type"] == "value_not_in_list"
    assert error["details"] == "model_name: 'nope.pth' not in ['RealESRGAN_x4plus.pth']"
    assert model_missing(result) == ["nope.pth"]


def test_missing_input_image_fails_custom_validation(info) -> None:
    """LoadImage checks that the file exists (VALIDATE_INPUTS), not the listed names."""
    prompt = {
        "1": {"class_type": "LoadImage", "inputs": {"image": "gone.png"}},
        "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "x"}},
    }
    result = validate_prompt(prompt, info, input_exists=lambda name: False)
    error = result.node_errors["1"]["errors"][0]
    assert error["type"] == "custom_validation_failed"
    assert error["details"] == "image - Invalid image file: gone.png"
    assert model_missing(result) == []
    assert validate_prompt(prompt, info, input_exists=lambda name: True).is_ok


def test_model_missing_lists_loader_files_only(info) -> None:
    """model_missing names missing checkpoint/LoRA files but not bad sampler names."""
    prompt = copy.deepcopy(BASE_WORKFLOW)
    prompt["1"]["inputs"]["ckpt_name"] = "gone.safetensors"
    prompt["5"]["inputs"]["sampler_name"] = "nope"
    prompt["8"] = {
        "class_type": "LoraLoader",
        "inputs": {"model": ["1", 0], "clip": ["1", 1], "lora_name": "style.safetensors",
                   "strength_model": 1.0, "strength_clip": 1.0},
    }  # fmt: skip
    prompt["5"]["inputs"]["model"] = ["8", 0]
    assert model_missing(validate_prompt(prompt, info)) == ["gone.safetensors", "style.safetensors"]


def test_graph_errors(info) -> None:
    """Unknown classes, missing class_type and no outputs are graph-level errors."""
    assert validate_prompt({"1": {"inputs": {}}}, info).error == {
        "type": "invalid_prompt",
        "message": "Cannot execute because a node is missing the class_type property.",
        "details": "Node ID '#1'",
        "extra_info": {},
    }
    no_out = validate_prompt({"1": {"class_type": "EmptyLatentImage", "inputs": {}}}, info)
    assert no_out.error is not None
    assert no_out.error["type"] == "prompt_no_outputs"


def test_output_node_flag(info) -> None:
    """Output nodes are read from the schema's output_node flag."""
    assert is_output_node(info, "SaveImage")
    assert is_output_node(info, "PreviewImage")
    assert not is_output_node(info, "KSampler")
    assert not info.is_output_node("NoSuchNode")
