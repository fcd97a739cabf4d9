"""The recursion limit for reading deeply nested compose files (no YAML library needed here).

Compose reads a mapping nested thousands of levels deep; ruamel and json recurse once or a few
times per level, past Python's default limit of 1,000 frames. Measured with Python 3.11: 10,000
levels parse with the limit raised, 30,000 overflow the C stack. So: a limit of our own on the
nesting, well inside what the interpreter survives, and the frames it needs while reading.
Kept apart from compose.source so that the CLI and a cached load import no ruamel.yaml.
"""
from __future__ import annotations

import contextlib
import sys
from typing import Iterator

NESTING_LIMIT = 5_000
_FRAMES_NEEDED = 8 * NESTING_LIMIT  # 5,000 levels took 25,000 frames to read, write and walk


@contextlib.contextmanager
def deep_nesting() -> Iterator[None]:
    """Python's recursion limit raised for reading a file nested up to NESTING_LIMIT levels."""
    before = sys.getrecursionlimit()
    sys.setrecursionlimit(max(before, _FRAMES_NEEDED))
    try:
        yield
    finally:
        sys.setrecursionlimit(before)
