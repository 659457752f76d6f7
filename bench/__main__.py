"""Run every benchmark that exists: ``python -m bench [name ...] [--size small|medium|large]``.

Each benchmark module exposes ``run(argv: list[str]) -> None`` and prints its own table.
"""

from __future__ import annotations

import importlib
import sys

BENCHMARKS = ("scheduling", "messaging", "goals", "reliability", "fhir")


def main(argv: list[str]) -> None:
    names = [a for a in argv if not a.startswith("-") and a in BENCHMARKS] or list(BENCHMARKS)
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
