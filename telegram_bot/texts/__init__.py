"""Russian and English texts, and the map from backend error codes to friendly sentences."""

from __future__ import annotations

from typing import Literal

from common.error_codes import ErrorCode as E
from telegram_bot.errors import BACKEND_DOWN
from telegram_bot.texts import en, ru

Lang = Literal["en", "ru"]
LANGS: tuple[Lang, ...] = ("en", "ru")
_TEXTS: dict[str, dict[str, str]] = {"en": en.TEXTS, "ru": ru.TEXTS}
_ERRORS: dict[str, dict[str, str]] = {"en": en.ERRORS, "ru": ru.ERRORS}

# error_code -> (sentence key, whether a Retry button makes sense)
_ERROR_MAP: dict[str, tuple[str, bool]] = {
    E.RATE_LIMITED: ("rate_limited", True),
    E.POLICY_MINORS: ("policy_minors", False),
    E.POLICY_REAL_PERSON: ("policy_real_person", False),
    E.POLICY_NUDITY: ("policy_nudity", False),
    E.POLICY_UNDRESS: ("policy_undress", False),
    E.INPUT_BLOCKED: ("input_blocked", False),
    E.OUTPUT_BLOCKED: ("output_blocked", True),
    E.ADULT_CONFIRMATION_REQUIRED: ("adult_confirmation_required", False),
    E.MODE_DECLINED: ("mode_declined", False),
    E.MODE_UNAVAILABLE: ("mode_unavailable", False),
    E.BUSY: ("busy", True),
    E.TIMEOUT: ("timeout", True),
    E.EXPIRED: ("expired", True),
    E.WORKER_LOST: ("busy", True),
    E.COMFY_UNAVAILABLE: ("busy", True),
    E.OUT_OF_MEMORY: ("busy", True),
    E.IMAGE_INVALID: ("image_invalid", False),
    E.INVALID_BASE64: ("image_invalid", False),
    E.IMAGE_REQUIRED: ("image_invalid", False),
    E.IMAGE_DECOMPRESSION_BOMB: ("image_invalid", False),
    E.IMAGE_TOO_LARGE: ("image_too_large", False),
    E.BODY_TOO_LARGE: ("image_too_large", False),
    E.IMAGE_TOO_SMALL: ("image_too_small", False),
    E.PROMPT_REQUIRED: ("prompt_required", False),
    E.PROMPT_TOO_LONG: ("prompt_too_long", False),
    E.INVALID_PARAM: ("bad_settings", False),
    E.INVALID_REQUEST: ("bad_settings", False),
    E.UNKNOWN_FIELD: ("bad_settings", False),
    E.UNKNOWN_STYLE: ("bad_settings", False),
    E.UNKNOWN_LORA: ("bad_settings", False),
    E.UNAUTHORIZED: ("not_allowed", False),
    E.FORBIDDEN: ("not_allowed", False),
    E.USER_SUSPENDED: ("user_suspended", False),
    E.NOT_FOUND: ("gone", False),
    E.TASK_NOT_FINISHED: ("server_error", True),
    E.TASK_FINISHED: ("gone", False),
    E.LEASE_STALE: ("server_error", True),
    E.COMFY_VALIDATION: ("server_error", True),
    E.COMFY_EXECUTION: ("server_error", True),
    E.MODEL_MISSING: ("server_error", True),
    E.INTERNAL_ERROR: ("server_error", True),
    E.CANCELLED: ("cancelled", False),
    BACKEND_DOWN: ("backend_unavailable", True),
}


def lang_of(code: str | None) -> Lang:
    """The bot language for a Telegram language_code: Russian for ru/uk/be, else English."""
    return "ru" if code and code.split("-")[0].lower() in {"ru", "uk", "be"} else "en"


def t(lang: str, key: str, **values: object) -> str:
    """The text for key in lang, formatted with values."""
    texts = _TEXTS.get(lang, en.TEXTS)
    return texts.get(key, en.TEXTS[key]).format(**values)


def error_text(lang: str, error_code: str, retry_after: float | None = None) -> tuple[str, bool]:
    """A friendly sentence for a backend error_code, and whether to offer Retry."""
    key, retryable = _ERROR_MAP.get(error_code, ("server_error", True))
    wait = max(1, round(retry_after)) if retry_after else 30
    return _ERRORS.get(lang, en.ERRORS)[key].format(wait=wait), retryable


def mapped_codes() -> set[str]:
    """Every error code with a dedicated sentence (used by tests to pin full coverage)."""
    return set(_ERROR_MAP)
