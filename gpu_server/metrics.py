"""Prometheus metrics of one worker, on a registry of its own (one per app)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class WorkerMetrics:
    """Jobs run, their durations, failures by error_code, and ComfyUI reachability."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.jobs = Counter(
            "genpod_worker_jobs_total",
            "Jobs finished by this worker",
            ["mode", "style", "outcome"],
            registry=self.registry,
        )
        self.failures = Counter(
            "genpod_worker_failures_total",
            "Failed jobs by error_code",
            ["error_code"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "genpod_worker_job_seconds",
            "Time from submit to encoded outputs",
            ["mode", "style"],
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120, 300),
            registry=self.registry,
        )
        self.comfy_up = Gauge(
            "genpod_worker_comfyui_up",
            "1 when ComfyUI answered the last check",
            registry=self.registry,
        )
        self.queue_remaining = Gauge(
            "genpod_worker_comfyui_queue",
            "Prompts running or pending in ComfyUI",
            registry=self.registry,
        )
