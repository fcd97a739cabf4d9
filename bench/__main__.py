"""`make bench [ARGS=--quick]`: run every bench/bench_*.py module and print one table.

Each module has `run(quick: bool) -> list[Row]`. Runs on the real engine
(DOCKER_HOST is set by scripts/devengine.py run). `--write docs/benchmarks.md` also puts the
table, the machine and the command into that file, between its results markers.
"""
from __future__ import annotations

import argparse
import compileall
import importlib
import pkgutil
import sys
import time
import traceback
from pathlib import Path

from bench.harness import Row, format_markdown, format_table
from bench.machine import describe

START, END = "<!-- results:start -->", "<!-- results:end -->"


def write_results(path: Path, rows: list[Row], machine: str, command: str, failed: list[str]) -> None:
    block = "\n".join([
        START,
        f"Command: `{command}`",
        "",
        machine,
        "",
        format_markdown(rows),
        *([f"\nFailed modules: {', '.join(failed)}"] if failed else []),
        END,
    ])
    text = path.read_text() if path.exists() else f"# Benchmarks\n\n{START}\n{END}\n"
    if START in text and END in text:
        head, _, rest = text.partition(START)
        _, _, tail = rest.partition(END)
        text = head + block + tail
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(text)


def main() -> int:
    parser = argparse.ArgumentParser(prog="bench")
    parser.add_argument("--quick", action="store_true", help="shorter windows and smaller inputs (a couple of minutes)")
    parser.add_argument("--only", action="append", default=[], help="run only modules whose name contains this")
    parser.add_argument("--write", metavar="FILE", help="also write the table, machine and command into FILE (markdown)")
    args = parser.parse_args()
    rows: list[Row] = []
    failed = []
    here = Path(__file__).parent
    started = time.monotonic()
    # As a user's stacktui is: pip compiles a package's modules when it installs it. A checkout
    # only gets them written on first import, and never where PYTHONDONTWRITEBYTECODE is set
    # (it is, on these machines): every launch would then compile stacktui from source, 0.15 s.
    compileall.compile_dir(str(here.parent / "stacktui"), quiet=1)
    machine_before = describe()
    for mod in sorted(m.name for m in pkgutil.iter_modules([str(here)]) if m.name.startswith("bench_")):
        if args.only and not any(o in mod for o in args.only):
            continue
        print(f"bench: {mod} ...", file=sys.stderr, flush=True)
        t0 = time.monotonic()
        try:
            rows += importlib.import_module(f"bench.{mod}").run(args.quick)
        except Exception:
            failed.append(mod)
            traceback.print_exc()
        print(f"bench: {mod} took {time.monotonic() - t0:.0f} s", file=sys.stderr, flush=True)
    table = format_table(rows)
    print(table)
    print(f"\nbench: {time.monotonic() - started:.0f} s in all", file=sys.stderr)
    if args.write:
        command = "make bench" + (" ARGS=--quick" if args.quick else "")
        if args.only:
            command += " (" + ", ".join(f"--only {o}" for o in args.only) + ")"
        machine = machine_before + f"\n- load average after the run: {describe(load_only=True)}"
        write_results(Path(args.write), rows, machine, command, failed)
    if failed:
        print(f"bench: failed modules: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
