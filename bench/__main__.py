"""`python -m bench` lists benchmarks; `python -m bench NAME [args]` runs one; `--all` runs all."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def names() -> list[str]:
    """Every benchmark script in bench/."""
    return sorted(p.stem for p in HERE.glob("*.py") if not p.stem.startswith("_"))


def run(name: str, args: list[str]) -> None:
    """Run bench/<name>.py as __main__ with the given arguments."""
    sys.argv = [f"bench/{name}.py", *args]
    runpy.run_path(str(HERE / f"{name}.py"), run_name="__main__")


def main() -> None:
    argv = sys.argv[1:]
    if not argv or argv[0] in {"-h", "--help", "list"}:
        print("benchmarks:", ", ".join(names()))
        print("run one: python -m bench NAME [args]; all with defaults: python -m bench --all")
        return
    if argv[0] == "--all":
        for name in names():
            print(f"== {name}", flush=True)
            run(name, [])
        return
    if argv[0] not in names():
        sys.exit(f"unknown benchmark {argv[0]!r}; known: {', '.join(names())}")
    run(argv[0], argv[1:])


if __name__ == "__main__":
    main()
