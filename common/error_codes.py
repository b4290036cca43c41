"""Stable, machine-readable error codes shared by the backend, the worker and the bot.

Clients (the bot, the mobile app) switch on these strings, so never rename one.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    """Every error_code genpod answers with."""

    # request shape
    INVALID_REQUEST = "invalid_request"
    UNKNOWN_FIELD = "unknown_field"
    BODY_TOO_LARGE = "body_too_large"
    INVALID_PARAM = "invalid_param"
    PROMPT_REQUIRED = "prompt_required"
    PROMPT_TOO_LONG = "prompt_too_long"
    UNKNOWN_STYLE = "unknown_style"
    UNKNOWN_LORA = "unknown_lora"
    # images
    INVALID_BASE64 = "invalid_base64"
    IMAGE_REQUIRED = "image_required"
    IMAGE_INVALID = "image_invalid"
    IMAGE_TOO_LARGE = "image_too_large"
    IMAGE_TOO_SMALL = "image_too_small"
    IMAGE_DECOMPRESSION_BOMB = "image_decompression_bomb"
    # modes
    MODE_DECLINED = "mode_declined"
    MODE_UNAVAILABLE = "mode_unavailable"
    # access
    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"
    RATE_LIMITED = "rate_limited"
    USER_SUSPENDED = "user_suspended"
    NOT_FOUND = "not_found"
    TASK_NOT_FINISHED = "task_not_finished"
    TASK_FINISHED = "task_finished"
    LEASE_STALE = "lease_stale"
    # content policy (category only, never the matched words)
    POLICY_MINORS = "policy_minors"
    POLICY_REAL_PERSON = "policy_real_person"
    POLICY_NUDITY = "policy_nudity"
    POLICY_UNDRESS = "policy_undress"
    ADULT_CONFIRMATION_REQUIRED = "adult_confirmation_required"
    INPUT_BLOCKED = "input_blocked"
    OUTPUT_BLOCKED = "output_blocked"
    # execution
    COMFY_UNAVAILABLE = "comfy_unavailable"
    COMFY_VALIDATION = "comfy_validation"
    COMFY_EXECUTION = "comfy_execution"
    OUT_OF_MEMORY = "out_of_memory"
    MODEL_MISSING = "model_missing"
    TIMEOUT = "timeout"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    WORKER_LOST = "worker_lost"
    BUSY = "busy"
    INTERNAL_ERROR = "internal_error"
