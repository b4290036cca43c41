"""The backend's exception tree; routers map it to HTTP in one place (app.py).

BackendError                       root: carries an error_code, a sentence and a status
 ├── RequestRejected               bad input: 400/413/422
 ├── AccessDenied                  401/403
 ├── RateLimited                   429 with a retry-after
 ├── TaskNotFound                  404
 ├── Conflict                      409 (task state, stale lease)
 ├── StoreUnavailable              503
 └── ShuttingDown                  503 with a retry-after (the server is stopping)
"""

from __future__ import annotations

from common.error_codes import ErrorCode


class BackendError(Exception):
    """Raised for any failure the backend answers with its error shape."""

    status = 500
    retry_after_s: int | None = None  # sent as Retry-After when set

    def __init__(self, code: str, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        if status is not None:
            self.status = status


class RequestRejected(BackendError):
    """Raised when a request is malformed or refused on its content (4xx)."""

    status = 422


class AccessDenied(BackendError):
    """Raised when a key or token is missing, wrong, or its user is suspended."""

    status = 401


class RateLimited(BackendError):
    """Raised when a key or end user sent too many requests."""

    status = 429

    def __init__(self, message: str, retry_after_s: float) -> None:
        super().__init__(ErrorCode.RATE_LIMITED, message)
        self.retry_after_s = max(1, int(retry_after_s + 0.999))


class TaskNotFound(BackendError):
    """Raised when a task id is unknown (or belongs to another client)."""

    status = 404

    def __init__(self) -> None:
        super().__init__(ErrorCode.NOT_FOUND, "No task with this id.")


class Conflict(BackendError):
    """Raised when the task or lease is not in a state that allows the call."""

    status = 409


class StoreUnavailable(BackendError):
    """Raised when the job store cannot be reached."""

    status = 503


class ShuttingDown(BackendError):
    """Raised to a long poll when the backend is stopping: come back shortly (503)."""

    status = 503
    retry_after_s = 1

    def __init__(self) -> None:
        super().__init__(ErrorCode.BUSY, "The backend is restarting; try again in a moment.")
