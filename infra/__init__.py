"""Pod operations: model manifest and downloader, process supervision, remote management.

Exception tree::

    InfraError                  root of every error raised by infra
    ├── ManifestError           config/models.yaml is malformed
    ├── DownloadError           a model could not be fetched or failed verification
    └── SshError                an ssh operation failed (see infra.ssh_client)
"""

from __future__ import annotations


class InfraError(Exception):
    """Raised for any operator-facing failure in infra; the CLIs print it without a trace."""


class ManifestError(InfraError):
    """Raised when the model manifest cannot be read or is invalid."""


class DownloadError(InfraError):
    """Raised when a model download fails or its checksum does not match."""


class SshError(InfraError):
    """Raised when an ssh operation fails, with a sentence that says what to fix."""
