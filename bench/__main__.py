"""`make bench [ARGS=--quick]`: run every bench/bench_*.py module and print one table.

Each module has `run(quick: bool) -> list[Row]`. Runs on the real engine
(DOCKER_HOST is set by scripts/devengine.py run).
"""
from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
import traceback
from pathlib import Path

from bench.harness import Row, format_table


def main() -> int:
    parser = argparse.ArgumentParser(prog="bench")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions and smaller inputs")
    parser.add_argument("--only", action="append", default=[], help="run only modules whose name contains this")
    parser.add_argument("--write", metavar="FILE", help="also write the table as markdown to FILE")
    args = parser.parse_args()
    rows: list[Row] = []
    failed = []
    here = Path(__file__).parent
    for mod in sorted(m.name for m in pkgutil.iter_modules([str(here)]) if m.name.startswith("bench_")):
        if args.only and not any(o in mod for o in args.only):
            continue
        print(f"bench: {mod} ...", file=sys.stderr, flush=True)
        try:
            rows += importlib.import_module(f"bench.{mod}").run(args.quick)
        except Exception:
            failed.append(mod)
            traceback.print_exc()
    table = format_table(rows)
    print(table)
    if args.write:
        Path(args.write).write_text("```\n" + table + "\n```\n")
    if failed:
        print(f"bench: failed modules: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
