"""Errors of the image side of the content policy.

SafetyError
├── UndecodableImage     the bytes are not an image we can read (counts as unsafe)
└── GuardConfigError     a threshold or classifier setting would weaken a protection
"""

from __future__ import annotations


class SafetyError(Exception):
    """Root of every error the safety package raises on purpose."""


class UndecodableImage(SafetyError):
    """Raised when image bytes cannot be decoded, are truncated or too large."""


class GuardConfigError(SafetyError):
    """Raised at start-up when safety settings are invalid or looser than the floor."""
