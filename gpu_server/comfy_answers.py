"""Turn ComfyUI's answers (400 bodies, history entries) into typed errors and image refs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gpu_server.errors import (
    ComfyError,
    ComfyExecutionError,
    ComfyValidationError,
    JobCancelled,
    ModelMissing,
    OutOfMemory,
)

# Inputs whose value is a file name in one of ComfyUI's model folders.
MODEL_INPUTS = frozenset(
    {"ckpt_name", "lora_name", "vae_name", "control_net_name", "model_name", "unet_name"}
)
OOM_MARKERS = ("out of memory", "outofmemory", "oom")


@dataclass(frozen=True)
class ImageRef:
    """One output file as ComfyUI lists it in history."""

    node_id: str
    filename: str
    subfolder: str
    type: str


def validation_error(body: Any) -> ComfyValidationError:
    """Build the error for a 400 /prompt answer, naming each node and input at fault."""
    if not isinstance(body, dict):
        return ComfyValidationError(f"ComfyUI rejected the workflow: {body!r}"[:500])
    raw_error = body.get("error")
    error: dict[str, Any] = raw_error if isinstance(raw_error, dict) else {}
    head = str(error.get("message") or "invalid prompt")
    if error.get("details"):
        head = f"{head}: {error['details']}"
    parts, missing = _node_problems(body.get("node_errors"))
    message = f"ComfyUI rejected the workflow: {head}" + (f" ({'; '.join(parts)})" if parts else "")
    if missing:
        return ModelMissing(f"model file not installed: {', '.join(missing)}. {message}")
    return ComfyValidationError(message)


def _node_problems(node_errors: Any) -> tuple[list[str], list[str]]:
    parts: list[str] = []
    missing: list[str] = []
    if not isinstance(node_errors, dict):
        return parts, missing
    for node_id, entry in node_errors.items():
        class_type = entry.get("class_type", "?") if isinstance(entry, dict) else "?"
        for err in entry.get("errors", []) if isinstance(entry, dict) else []:
            details = str(err.get("details") or "")
            fallback = details.split(":", maxsplit=1)[0]
            input_name = str(err.get("extra_info", {}).get("input_name") or fallback)
            parts.append(f"node {node_id} ({class_type}) input {input_name}: {err.get('message')}")
            if err.get("type") == "value_not_in_list" and input_name in MODEL_INPUTS:
                received = err.get("extra_info", {}).get("received_value")
                missing.append(str(received or details.split(" not in ", maxsplit=1)[0]))
    return parts, missing


def raise_for_history(entry: dict[str, Any]) -> None:
    """Raise the typed error a finished-but-failed history entry describes."""
    status = entry.get("status") or {}
    if status.get("status_str") == "success" or status.get("completed") is True:
        return
    for kind, data in status.get("messages") or []:
        if kind == "execution_error":
            raise execution_error(data)
        if kind == "execution_interrupted":
            raise JobCancelled("the prompt was interrupted in ComfyUI")
    raise ComfyError(f"ComfyUI finished the prompt with status {status.get('status_str')!r}")


def execution_error(data: dict[str, Any]) -> ComfyExecutionError:
    """Map an execution_error frame (or history message) to OOM or a generic execution error."""
    exc_type = str(data.get("exception_type", ""))
    text = str(data.get("exception_message", "")).strip().splitlines()
    first = text[0] if text else "unknown error"
    where = f"node {data.get('node_id')} ({data.get('node_type')})"
    haystack = f"{exc_type} {first}".lower()
    if any(marker in haystack for marker in OOM_MARKERS):
        return OutOfMemory(f"GPU out of memory in {where}: {first}")
    return ComfyExecutionError(f"ComfyUI failed in {where}: {exc_type}: {first}")


def image_refs(entry: dict[str, Any], node_ids: set[str] | None = None) -> list[ImageRef]:
    """Every saved image of a history entry, optionally only from the given output nodes."""
    refs: list[ImageRef] = []
    for node_id, output in (entry.get("outputs") or {}).items():
        if node_ids is not None and node_id not in node_ids:
            continue
        for image in output.get("images") or []:
            refs.append(
                ImageRef(
                    node_id,
                    str(image["filename"]),
                    str(image.get("subfolder", "")),
                    str(image.get("type", "output")),
                )
            )
    return refs
