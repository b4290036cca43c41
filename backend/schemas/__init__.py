"""Public API request and response models."""
