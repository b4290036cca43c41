"""ComfyUI's node schema (/object_info) and a prompt validator that answers as ComfyUI 0.3.64 does.

Public API: `ObjectInfo` (load / from_dict / with_installed / is_output_node / combo_values),
`validate_prompt(prompt, info) -> PromptValidation` (error, node_errors, outputs, is_ok),
`model_missing(validation)` and `is_output_node(info, class_type)`.
"""

from gpu_server.comfy_schema.object_info import MODEL_INPUTS, ObjectInfo
from gpu_server.comfy_schema.validation import (
    PromptValidation,
    graph_error,
    is_output_node,
    model_missing,
    validate_prompt,
)

__all__ = [
    "MODEL_INPUTS",
    "ObjectInfo",
    "PromptValidation",
    "graph_error",
    "is_output_node",
    "model_missing",
    "validate_prompt",
]
