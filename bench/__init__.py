"""genpod benchmarks: each `bench/<name>.py` is a script; `python -m bench` runs them."""
