"""Run the benchmarks: `python -m benchmarks [--quick]`."""

from __future__ import annotations

import sys

from benchmarks import rules


def main(argv: list[str]) -> int:
    quick = "--quick" in argv
    rules.main(quick=quick)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
