"""The table every benchmark module feeds: one Row per figure, with its reference and target."""
from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from typing import Callable


@dataclass
class Row:
    name: str
    value: float | None  # None: could not be measured on this build (the note says why)
    unit: str
    reference_name: str
    reference: float | None
    target: str  # as the issue states it, e.g. "ratio <= 1.05"
    met: bool | None  # None when there is no target to judge
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.value is None or self.reference in (None, 0):
            return None
        return self.value / self.reference


def median_time(fn: Callable[[], object], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = max(0, min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


HEAD = ("benchmark", "stacktui", "reference", "ref value", "ratio", "target", "met")


def _num(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 10_000 else f"{value:.4g}"


def _cells(r: Row) -> tuple[str, ...]:
    return (
        r.name,
        f"{_num(r.value)} {r.unit}" if r.value is not None else "n/a",
        r.reference_name,
        f"{_num(r.reference)} {r.unit}" if r.reference is not None else "-",
        f"{r.ratio:.3f}" if r.ratio is not None else "-",
        r.target,
        {True: "yes", False: "NO", None: "-"}[r.met],
    )


def format_markdown(rows: list[Row]) -> str:
    """The same table for docs/benchmarks.md."""
    def esc(text: str) -> str:
        return text.replace("|", "\\|")

    lines = ["| " + " | ".join(HEAD) + " |", "|" + "---|" * len(HEAD)]
    lines += ["| " + " | ".join(esc(c) for c in _cells(r)) + " |" for r in rows]
    notes = [f"- {esc(r.name)}: {r.note}" for r in rows if r.note]
    return "\n".join(lines + ([""] + notes if notes else []))


def format_table(rows: list[Row]) -> str:
    head = HEAD
    body = [_cells(r) for r in rows]
    widths = [max(len(str(x)) for x in col) for col in zip(head, *body)]
    lines = [" | ".join(str(c).ljust(w) for c, w in zip(head, widths))]
    lines.append("-+-".join("-" * w for w in widths))
    lines += [" | ".join(str(c).ljust(w) for c, w in zip(row, widths)) for row in body]
    notes = [f"- {r.name}: {r.note}" for r in rows if r.note]
    return "\n".join(lines + ([""] + notes if notes else []))
