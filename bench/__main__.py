"""Run every ``bench/bench_*.py`` module's ``main()``: ``python -m bench``."""
from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path


def main() -> None:
    here = Path(__file__).resolve().parent
    for info in sorted(pkgutil.iter_modules([str(here)]), key=lambda i: i.name):
        if not info.name.startswith("bench_"):
            continue
        module = importlib.import_module(f"bench.{info.name}")
        entry = getattr(module, "main", None)
        if entry is None:
            print(f"# bench.{info.name}: no main(), skipped")
            continue
        print(f"# bench.{info.name}")
        try:
            entry([]) if entry.__code__.co_argcount else entry()
        except TypeError:
            entry()


if __name__ == "__main__":
    main()
