"""genpod backend: public API, job store, scheduling and the worker protocol."""
