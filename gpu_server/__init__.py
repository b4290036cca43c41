"""genpod GPU worker: runs jobs on the ComfyUI next to it."""
