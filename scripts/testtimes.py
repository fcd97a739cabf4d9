#!/usr/bin/env python3
"""Per-file and per-test timings of a pytest run, from its JUnit XML report, as Markdown.

    python3 scripts/testtimes.py REPORT.xml [--top N]

Standard library only. `make test ARGS="--junitxml=R.xml"` writes such a report; docs/testing.md
keeps the tables of the runs the suite's budget was measured with.
"""
from __future__ import annotations

import argparse
import collections
import sys
import xml.etree.ElementTree as ET


def summarize(path: str, top: int) -> str:
    root = ET.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    per_file: collections.Counter[str] = collections.Counter()
    count: collections.Counter[str] = collections.Counter()
    tests: list[tuple[float, str]] = []
    for case in root.iter("testcase"):
        seconds = float(case.get("time") or 0)
        module = (case.get("classname") or "?").split(".")
        name = "/".join(module[:2]) + ".py" if len(module) >= 2 else module[0]
        per_file[name] += seconds
        count[name] += 1
        tests.append((seconds, f"{name}::{case.get('name')}"))
    wall = sum(float(s.get("time") or 0) for s in suites)
    out = [f"{sum(count.values())} tests, {sum(per_file.values()):.0f} s of test time, {wall:.0f} s of wall time", "",
           "| file | tests | seconds |", "| --- | ---: | ---: |"]
    out += [f"| {name} | {count[name]} | {secs:.1f} |" for name, secs in per_file.most_common(top)]
    out += ["", "| test | seconds |", "| --- | ---: |"]
    out += [f"| {name} | {secs:.1f} |" for secs, name in sorted(tests, reverse=True)[:top]]
    return "\n".join(out) + "\n"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report")
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args(argv)
    sys.stdout.write(summarize(args.report, args.top))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
