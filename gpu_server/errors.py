"""Errors raised by the worker; each carries a stable error_code and whether a retry may help.

GpuServerError
├── ComfyError                 ComfyUI refused or failed a prompt
│   ├── ComfyUnavailable       ComfyUI cannot be reached (connection refused, timeout, 5xx)
│   ├── ComfyValidationError   ComfyUI answered 400 to /prompt
│   │   └── ModelMissing       a model file named in the graph is not installed
│   ├── ComfyExecutionError    a node raised while running
│   │   └── OutOfMemory        ... with a CUDA/torch out-of-memory error
│   ├── JobCancelled           the prompt was interrupted or removed from the queue on request
│   └── JobTimeout             the job ran past its deadline and was interrupted
├── WorkflowError              a template or style profile is broken (stops start-up)
└── JobRejected                the job cannot run (bad input, blocked image, unknown style)
"""

from __future__ import annotations

from common.error_codes import ErrorCode


class GpuServerError(Exception):
    """Root of every error the worker raises on purpose."""

    error_code: ErrorCode = ErrorCode.INTERNAL_ERROR
    retryable: bool = False

    def __init__(self, message: str, *, error_code: ErrorCode | None = None) -> None:
        super().__init__(message)
        self.message = message
        if error_code is not None:
            self.error_code = error_code


class ComfyError(GpuServerError):
    """Raised when ComfyUI refuses or fails a prompt."""

    error_code = ErrorCode.COMFY_EXECUTION


class ComfyUnavailable(ComfyError):
    """Raised when ComfyUI cannot be reached or answers with a server error."""

    error_code = ErrorCode.COMFY_UNAVAILABLE
    retryable = True


class ComfyValidationError(ComfyError):
    """Raised when ComfyUI answers 400 to a submitted prompt."""

    error_code = ErrorCode.COMFY_VALIDATION


class ModelMissing(ComfyValidationError):
    """Raised when the graph names a model file ComfyUI does not have."""

    error_code = ErrorCode.MODEL_MISSING
    retryable = True  # another worker may have the file


class ComfyExecutionError(ComfyError):
    """Raised when a node fails while the prompt runs."""

    error_code = ErrorCode.COMFY_EXECUTION


class OutOfMemory(ComfyExecutionError):
    """Raised when the GPU ran out of memory while the prompt ran."""

    error_code = ErrorCode.OUT_OF_MEMORY
    retryable = True  # a GPU with more free memory may finish it


class JobCancelled(ComfyError):
    """Raised when a job was cancelled (interrupted while running or deleted while pending)."""

    error_code = ErrorCode.CANCELLED


class JobTimeout(ComfyError):
    """Raised when a job ran past its deadline; it has been interrupted in ComfyUI."""

    error_code = ErrorCode.TIMEOUT


class WorkflowError(GpuServerError):
    """Raised when a workflow template or style profile is broken; names file, node and input."""

    error_code = ErrorCode.INTERNAL_ERROR


class JobRejected(GpuServerError):
    """Raised when a job cannot run as asked (bad input image, blocked content, unknown style)."""

    error_code = ErrorCode.INVALID_PARAM


class BackendUnavailable(GpuServerError):
    """Raised when the backend cannot be reached or answers with a server error."""

    error_code = ErrorCode.INTERNAL_ERROR
    retryable = True


class LeaseLost(GpuServerError):
    """Raised when the backend answers 409: this worker's lease is no longer the job's own."""

    error_code = ErrorCode.LEASE_STALE
