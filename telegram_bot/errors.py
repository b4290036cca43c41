"""Exceptions of the bot package.

BotError                   root of everything the bot raises on purpose
├── BackendError           the backend answered with an error (error_code, sentence)
│   └── BackendUnavailable the backend could not be reached or answered garbage
└── InputRejected          a user's upload cannot be used (size, type)
"""

from __future__ import annotations

BACKEND_DOWN = "backend_unavailable"


class BotError(Exception):
    """Raised for any failure the bot handles and explains to the user."""


class BackendError(BotError):
    """Raised when the backend answers with its error shape."""

    def __init__(
        self, error_code: str, message: str, *, status: int = 0, retry_after: float | None = None
    ) -> None:
        super().__init__(f"{error_code}: {message}")
        self.error_code = error_code
        self.message = message
        self.status = status
        self.retry_after = retry_after


class BackendUnavailable(BackendError):
    """Raised when the backend cannot be reached, times out or answers a non-JSON error."""

    def __init__(self, message: str) -> None:
        super().__init__(BACKEND_DOWN, message, status=503)


class InputRejected(BotError):
    """Raised when an uploaded file is too large or is not an image."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
