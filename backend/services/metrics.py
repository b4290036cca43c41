"""Prometheus metrics of one backend app (its own registry, so tests can run several apps)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

DURATION_BUCKETS = (0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300)


class Metrics:
    """Counters and histograms the backend exports at /metrics."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "genpod_http_requests",
            "HTTP requests by route and status",
            ["route", "status"],
            registry=self.registry,
        )
        self.jobs = Counter(
            "genpod_jobs_submitted",
            "Jobs queued by mode and style",
            ["mode", "style"],
            registry=self.registry,
        )
        self.durations = Histogram(
            "genpod_job_duration_seconds",
            "Run time of finished jobs by mode and style",
            ["mode", "style"],
            buckets=DURATION_BUCKETS,
            registry=self.registry,
        )
        self.failures = Counter(
            "genpod_job_failures",
            "Failed jobs by error_code",
            ["error_code"],
            registry=self.registry,
        )
        self.refusals = Counter(
            "genpod_policy_refusals",
            "Prompts refused by error_code",
            ["error_code"],
            registry=self.registry,
        )
        self.queue_depth = Gauge("genpod_queue_depth", "Jobs waiting", registry=self.registry)

    def request(self, route: str, status: int) -> None:
        """Count one answered HTTP request."""
        self.requests.labels(route, str(status)).inc()

    def submitted(self, mode: str, style: str) -> None:
        """Count one queued job."""
        self.jobs.labels(mode, style).inc()

    def finished(self, mode: str, style: str, seconds: float) -> None:
        """Record how long a done job ran."""
        self.durations.labels(mode, style).observe(max(0.0, seconds))

    def failed(self, error_code: str) -> None:
        """Count one failed job."""
        self.failures.labels(error_code).inc()

    def refused(self, error_code: str) -> None:
        """Count one refused prompt."""
        self.refusals.labels(error_code).inc()

    def render(self, queue_depth: int) -> bytes:
        """The text exposition, with the queue depth read just now."""
        self.queue_depth.set(queue_depth)
        return generate_latest(self.registry)
