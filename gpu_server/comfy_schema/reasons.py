"""Error objects of ComfyUI's validation pass and the value checks that produce them."""

from __future__ import annotations

import sys
import traceback
from typing import Any

from gpu_server.comfy_schema.object_info import combo_options


def type_name(exc: BaseException) -> str:
    """An exception's type as ComfyUI's full_type_name writes it (builtins unqualified)."""
    module = type(exc).__module__
    name = type(exc).__qualname__
    return name if module in ("builtins", None) else f"{module}.{name}"


def input_config(spec: list[Any]) -> list[Any]:
    """The [type, options] pair ComfyUI echoes as input_config."""
    return [spec[0], spec[1] if len(spec) > 1 else {}]


def missing_input(name: str) -> dict[str, Any]:
    """The required_input_missing error for one input."""
    return {
        "type": "required_input_missing",
        "message": "Required input is missing",
        "details": name,
        "extra_info": {"input_name": name},
    }


def reason(
    kind: str, message: str, details: str, name: str, config: Any, **extra: Any
) -> dict[str, Any]:
    """One node error in ComfyUI's shape, with input_name and input_config in extra_info."""
    return {
        "type": kind,
        "message": message,
        "details": details,
        "extra_info": {"input_name": name, "input_config": config, **extra},
    }


def inner_exception(ex: Exception, name: str, config: Any, link: list[Any]) -> dict[str, Any]:
    """The exception_during_inner_validation error for a crash behind a link."""
    return reason(
        "exception_during_inner_validation",
        "Exception when validating inner node",
        str(ex),
        name,
        config,
        exception_message=str(ex),
        exception_type=type_name(ex),
        traceback=traceback.format_tb(sys.exc_info()[2]),
        linked_node=link,
    )


def convert(kind: Any, value: Any) -> Any:
    """Convert a widget value to its input type as ComfyUI does (int, float, str, bool)."""
    if kind == "INT":
        return int(value)
    if kind == "FLOAT":
        return float(value)
    if kind == "STRING":
        return str(value)
    if kind == "BOOLEAN":
        return bool(value)
    return value


def check_bounds(name: str, spec: list[Any], value: Any, config: Any) -> dict[str, Any] | None:
    """The min, max or value-list error for a converted widget value, if any."""
    extra = spec[1] if len(spec) > 1 and isinstance(spec[1], dict) else {}
    if "min" in extra and value < extra["min"]:
        msg = f"Value {value} smaller than min of {extra['min']}"
        return reason("value_smaller_than_min", msg, name, name, config, received_value=value)
    if "max" in extra and value > extra["max"]:
        msg = f"Value {value} bigger than max of {extra['max']}"
        return reason("value_bigger_than_max", msg, name, name, config, received_value=value)
    options = combo_options(spec)
    if options is None or value in options:
        return None
    shown: Any = config
    listed = str(options)
    if len(options) > 20:  # ComfyUI does not echo long model lists
        listed, shown = f"(list of length {len(options)})", None
    details = f"{name}: '{value}' not in {listed}"
    return reason(
        "value_not_in_list", "Value not in list", details, name, shown, received_value=value
    )


def types_match(received: Any, wanted: Any) -> bool:
    """ComfyUI's link type check: equal, '*', or overlapping comma-separated types."""
    if received == wanted:
        return True
    if not isinstance(received, str) or not isinstance(wanted, str):
        return False
    have = {t.strip() for t in received.split(",")}
    need = {t.strip() for t in wanted.split(",")}
    return "*" in have or "*" in need or bool(have & need)
