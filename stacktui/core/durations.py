"""How stacktui prints a duration: seconds with two decimals, the same in every message."""
from __future__ import annotations


def seconds(value: float) -> str:
    """`1.91 s` for 1.91016, `60.00 s` for 60: one shape whether measured or configured."""
    return f"{value:.2f} s"
