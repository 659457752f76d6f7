"""Run every benchmark that exists: ``python -m bench [name ...] [--size small|medium|large]``.

Each benchmark module exposes ``run(argv: list[str]) -> None`` and prints its own table.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys

# What `python -m bench` runs with no name; any other module of bench/ with a `run` can be named.
BENCHMARKS = ("scheduling", "messaging", "goals", "reliability")


def main(argv: list[str]) -> None:
    named = [a for a in argv if a.isidentifier()  # not an option's value such as a URL
             and (a in BENCHMARKS or importlib.util.find_spec(f"bench.{a}") is not None)]
    names = named or list(BENCHMARKS)
    options = [a for a in argv if a not in names]
    for name in names:
        try:
            module = importlib.import_module(f"bench.{name}")
        except ModuleNotFoundError as error:
            if error.name == f"bench.{name}":
                print(f"[{name}] not written yet")
                continue
            raise
        print(f"\n== {name} ==")
        module.run(options)


if __name__ == "__main__":
    main(sys.argv[1:])
