"""Image side of the content policy: classifiers, input/output screening, AI-generated marking."""

from gpu_server.safety.base import ImageGuard, Verdict
from gpu_server.safety.classifiers import ImageClassifier, NudeNetClassifier, OpenNsfwClassifier
from gpu_server.safety.config import GuardConfig, guard_config
from gpu_server.safety.errors import GuardConfigError, SafetyError, UndecodableImage
from gpu_server.safety.guard import NudityGuard, build_guard

__all__ = [
    "GuardConfig",
    "GuardConfigError",
    "ImageClassifier",
    "ImageGuard",
    "NudeNetClassifier",
    "NudityGuard",
    "OpenNsfwClassifier",
    "SafetyError",
    "UndecodableImage",
    "Verdict",
    "build_guard",
    "guard_config",
]
