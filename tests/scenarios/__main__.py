"""``python -m tests.scenarios OUT_DIR [--seeds N] [--first-seed S] [--types a,b]``: write the corpus.

Also runs as ``python tests/scenarios OUT_DIR``: the repository root is then put on ``sys.path``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a folder: python tests/scenarios OUT_DIR
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    __package__ = "tests.scenarios"

from tests.scenarios.generator import TYPES, generate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.scenarios", description=__doc__)
    parser.add_argument("out_dir", type=Path, help="folder to write the case folders into (created)")
    parser.add_argument("--seeds", type=int, default=1, help="how many seeds per type (default 1)")
    parser.add_argument("--first-seed", type=int, default=0, help="the first seed (default 0)")
    parser.add_argument(
        "--types", default="", help=f"comma-separated types (default all: {', '.join(TYPES)})"
    )
    args = parser.parse_args(argv)
    types = [t.strip() for t in args.types.split(",") if t.strip()] or list(TYPES)
    unknown = sorted(set(types) - set(TYPES))
    if unknown:
        parser.error(f"unknown type(s): {', '.join(unknown)}; known: {', '.join(TYPES)}")
    started = time.monotonic()
    cases = generate(args.out_dir, range(args.first_seed, args.first_seed + args.seeds), types)
    print(f"wrote {len(cases)} cases into {args.out_dir} in {time.monotonic() - started:.1f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
