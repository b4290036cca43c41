"""The one place exceptions become HTTP answers in the common error shape."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from backend.errors import BackendError
from common.error_codes import ErrorCode

log = logging.getLogger(__name__)

RANGE_ERRORS = frozenset(
    {
        "greater_than",
        "greater_than_equal",
        "less_than",
        "less_than_equal",
        "too_long",
        "too_short",
        "literal_error",
        "enum",
        "string_too_long",
        "string_too_short",
        "multiple_of",
        "finite_number",
    }
)
HTTP_CODES = {404: ErrorCode.NOT_FOUND, 401: ErrorCode.UNAUTHORIZED, 403: ErrorCode.FORBIDDEN}


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    """A JSON answer in the common error shape."""
    body = {"error_code": code, "error": message, "task_id": None}
    return JSONResponse(body, status_code=status, headers=headers)


def _where(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def _validation(exc: RequestValidationError) -> tuple[int, str, str]:
    """Status, code and sentence for the first validation error."""
    errors = exc.errors()
    first = errors[0] if errors else {"type": "", "loc": (), "msg": "invalid request"}
    kind, where = first.get("type", ""), _where(tuple(first.get("loc", ())))
    if kind == "json_invalid":
        return 400, ErrorCode.INVALID_REQUEST, "The request body is not valid JSON."
    if kind == "extra_forbidden":
        return 422, ErrorCode.UNKNOWN_FIELD, f"Unknown field: {where}."
    message = f"{where}: {first.get('msg', 'invalid value')}."
    if kind in RANGE_ERRORS:
        return 422, ErrorCode.INVALID_PARAM, message
    return 422, ErrorCode.INVALID_REQUEST, message


def install(app: FastAPI) -> None:
    """Register the handlers on an app."""

    @app.exception_handler(BackendError)
    async def _backend(_request: Request, exc: BackendError) -> JSONResponse:
        retry = exc.retry_after_s
        headers = {"Retry-After": str(retry)} if retry is not None else None
        return error_response(exc.status, exc.code, exc.message, headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(*_validation(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = HTTP_CODES.get(exc.status_code, ErrorCode.INVALID_REQUEST)
        return error_response(exc.status_code, code, str(exc.detail), dict(exc.headers or {}))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return error_response(500, ErrorCode.INTERNAL_ERROR, "Something went wrong on our side.")
