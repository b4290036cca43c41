"""validate_prompt: ComfyUI 0.3.64's validation pass (execution.validate_prompt, validate_inputs).

The same error types, messages, details and extra_info, the same exception-driven path for links
to missing nodes, and the same `dependent_outputs` quirk (every failed node seen so far is
charged to each failing output). Where ComfyUI iterates a set, this follows the schema's input
order so that answers are deterministic. Like ComfyUI, it converts widget values (for example
"3" -> 3 for an INT); the converted copy is `PromptValidation.prompt`, the input is not changed.
"""

from __future__ import annotations

import copy
import sys
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from gpu_server.comfy_schema.object_info import (
    FILE_VALIDATED,
    LOADER_INPUTS,
    ObjectInfo,
)
from gpu_server.comfy_schema.reasons import (
    check_bounds,
    convert,
    inner_exception,
    input_config,
    missing_input,
    reason,
    type_name,
    types_match,
)


@dataclass
class PromptValidation:
    """ComfyUI's verdict on a prompt: the top-level error, per-node errors, outputs to run."""

    error: dict[str, Any] | None
    node_errors: dict[str, dict[str, Any]] = field(default_factory=dict)
    outputs: list[str] = field(default_factory=list)
    # The validated copy with widget values converted as ComfyUI stores them ("3" -> 3 for INT).
    prompt: dict[str, Any] = field(default_factory=dict)

    @property
    def is_ok(self) -> bool:
        """True when ComfyUI would queue the prompt (possibly with some outputs dropped)."""
        return self.error is None


def graph_error(kind: str, message: str, details: str) -> dict[str, Any]:
    """A top-level error object in ComfyUI's shape."""
    return {"type": kind, "message": message, "details": details, "extra_info": {}}


def validate_prompt(
    prompt: Any,
    info: ObjectInfo,
    *,
    input_exists: Callable[[str], bool] | None = None,
    partial_execution_targets: Iterable[str] | None = None,
) -> PromptValidation:
    """Validate an API-format prompt exactly as ComfyUI's POST /prompt does."""
    if not isinstance(prompt, dict):
        return PromptValidation(graph_error("invalid_prompt", "Prompt must be an object", ""))
    prompt = copy.deepcopy(prompt)  # the caller's dict is left as it was
    outputs, error = _find_outputs(prompt, info, partial_execution_targets)
    if error is not None:
        return PromptValidation(error, prompt=prompt)
    validator = _Validator(prompt, info, input_exists)
    return validator.run(outputs)


def _find_outputs(
    prompt: dict[str, Any], info: ObjectInfo, targets: Iterable[str] | None
) -> tuple[list[str], dict[str, Any] | None]:
    wanted = None if targets is None else set(targets)
    outputs: list[str] = []
    for node_id, node in prompt.items():
        if not isinstance(node, dict) or "class_type" not in node:
            msg = "Cannot execute because a node is missing the class_type property."
            return [], graph_error("invalid_prompt", msg, f"Node ID '#{node_id}'")
        class_type = node["class_type"]
        if not isinstance(class_type, str) or not info.has_class(class_type):
            msg = f"Cannot execute because node {class_type} does not exist."
            return [], graph_error("invalid_prompt", msg, f"Node ID '#{node_id}'")
        if info.is_output_node(class_type) and (wanted is None or node_id in wanted):
            outputs.append(node_id)
    if not outputs:
        return [], graph_error("prompt_no_outputs", "Prompt has no outputs", "")
    return outputs, None


Result = tuple[bool, list[dict[str, Any]], str]


class _Validator:
    """One validation pass over a prompt; `validated` keeps ComfyUI's memo order."""

    def __init__(
        self, prompt: dict[str, Any], info: ObjectInfo, input_exists: Callable[[str], bool] | None
    ) -> None:
        self.prompt = prompt
        self.info = info
        self.input_exists = input_exists
        self.validated: dict[str, Result] = {}
        self.active: set[str] = set()

    def run(self, outputs: list[str]) -> PromptValidation:
        good: list[str] = []
        failed: list[tuple[str, list[dict[str, Any]]]] = []
        node_errors: dict[str, dict[str, Any]] = {}
        for out in outputs:
            valid, reasons = self._validate_output(out)
            if valid:
                good.append(out)
                continue
            failed.append((out, reasons))
            for node_id, (ok, node_reasons, _) in self.validated.items():
                if ok or not node_reasons:
                    continue
                entry = node_errors.setdefault(
                    node_id,
                    {
                        "errors": node_reasons,
                        "dependent_outputs": [],
                        "class_type": self.prompt[node_id]["class_type"],
                    },
                )
                entry["dependent_outputs"].append(out)
        if good:
            return PromptValidation(None, node_errors, good, self.prompt)
        details = "\n".join(f"{e['message']}: {e['details']}" for _, errs in failed for e in errs)
        error = graph_error(
            "prompt_outputs_failed_validation", "Prompt outputs failed validation", details
        )
        return PromptValidation(error, node_errors, [], self.prompt)

    def _validate_output(self, out: str) -> tuple[bool, list[dict[str, Any]]]:
        try:
            valid, reasons, _ = self.validate(out)
        except Exception as ex:  # ComfyUI turns any crash in validation into a node error
            reasons = [
                {
                    "type": "exception_during_validation",
                    "message": "Exception when validating node",
                    "details": str(ex),
                    "extra_info": {
                        "exception_type": type_name(ex),
                        "traceback": traceback.format_tb(sys.exc_info()[2]),
                    },
                }
            ]
            self.validated[out] = (False, reasons, out)
            return False, reasons
        return valid, reasons

    def validate(self, node_id: str) -> Result:
        """Validate one node and, through links, everything upstream of it."""
        if node_id in self.validated:
            return self.validated[node_id]
        if node_id in self.active:
            raise RecursionError(f"Dependency cycle detected at node {node_id}")
        self.active.add(node_id)
        try:
            result = self._validate_node(node_id)
        finally:
            self.active.discard(node_id)
        self.validated[node_id] = result
        return result

    def _validate_node(self, node_id: str) -> Result:
        node = self.prompt[node_id]
        class_type = node["class_type"]
        inputs = node.get("inputs", {})
        errors: list[dict[str, Any]] = []
        valid = True
        for name, category, spec in self.info.inputs(class_type):
            if name not in inputs:
                if category == "required":
                    errors.append(missing_input(name))
                continue
            value = inputs[name]
            if isinstance(value, list):
                ok, error = self._check_link(node_id, name, spec, value)
                valid = valid and ok
            else:
                error = self._check_value(class_type, name, spec, value, inputs)
            if error is not None:
                errors.append(error)
        return (not errors and valid, errors, node_id)

    def _check_link(
        self, node_id: str, name: str, spec: list[Any], value: list[Any]
    ) -> tuple[bool, dict[str, Any] | None]:
        config = input_config(spec)
        if len(value) != 2:
            return True, reason(
                "bad_linked_input",
                "Bad linked input, must be a length-2 list of [node_id, slot_index]",
                name,
                name,
                config,
                received_value=value,
            )
        source_id, slot = value
        received = self.info.return_types(self.prompt[source_id]["class_type"])[slot]
        if not types_match(received, spec[0]):
            details = f"{name}, received_type({received}) mismatch input_type({spec[0]})"
            msg = "Return type mismatch between linked nodes"
            extra = {"received_type": received, "linked_node": value}
            return True, reason("return_type_mismatch", msg, details, name, config, **extra)
        try:
            ok, _, _ = self.validate(source_id)
        except Exception as ex:  # charged to the linked node, as ComfyUI does
            self.validated[source_id] = (
                False,
                [inner_exception(ex, name, config, value)],
                source_id,
            )
            return False, None
        return ok, None

    def _check_value(
        self, class_type: str, name: str, spec: list[Any], value: Any, inputs: dict[str, Any]
    ) -> dict[str, Any] | None:
        config = input_config(spec)
        kind = spec[0]
        if isinstance(value, dict) and "__value__" in value:
            value = value["__value__"]
        try:
            value = convert(kind, value)
        except Exception as ex:
            details = f"{name}, {value}, {ex}"
            msg = f"Failed to convert an input value to a {kind} value"
            extra = {"received_value": value, "exception_message": str(ex)}
            return reason("invalid_input_type", msg, details, name, config, **extra)
        inputs[name] = value
        if (class_type, name) in FILE_VALIDATED:
            return self._check_file(name, value)
        return check_bounds(name, spec, value, config)

    def _check_file(self, name: str, value: Any) -> dict[str, Any] | None:
        exists = self.input_exists(str(value)) if self.input_exists else False
        if exists:
            return None
        return {
            "type": "custom_validation_failed",
            "message": "Custom validation failed for node",
            "details": f"{name} - Invalid image file: {value}",
            "extra_info": {"input_name": name},
        }


def model_missing(validation: PromptValidation) -> list[str]:
    """Model file names ComfyUI rejected as not installed (value_not_in_list on a loader)."""
    missing: list[str] = []
    for entry in validation.node_errors.values():
        for err in entry.get("errors", []):
            extra = err.get("extra_info", {})
            pair = (entry.get("class_type"), extra.get("input_name"))
            if err.get("type") == "value_not_in_list" and pair in LOADER_INPUTS:
                name = str(extra.get("received_value"))
                if name not in missing:
                    missing.append(name)
    return missing


def is_output_node(info: ObjectInfo, class_type: str) -> bool:
    """Whether ComfyUI treats the class as an output node."""
    return info.is_output_node(class_type)
