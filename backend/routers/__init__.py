"""HTTP routes: public API, worker protocol, health/styles/metrics."""
