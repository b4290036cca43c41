"""Image side of the content policy: classifiers, input/output screening, AI-generated marking."""

from gpu_server.safety.base import ImageGuard, Verdict

__all__ = ["ImageGuard", "Verdict"]
