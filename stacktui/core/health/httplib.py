"""httpx without its command line: the probes' client library, imported for what stacktui uses.

`import httpx` also imports its `httpx` CLI (click, pygments and much of rich): 63 modules and
4 MB resident, measured here, in a TUI that never runs that CLI. When httpx is not imported yet,
a stand-in `httpx._main` is put in its place first; httpx itself is unchanged.
"""
from __future__ import annotations

import sys
import types
from typing import Any


def _no_cli(*_args: Any, **_kwargs: Any) -> None:
    raise SystemExit("httpx's command line is not available inside stacktui")


def load_httpx() -> Any:
    """The httpx module (imported once; later calls are a dict lookup)."""
    module = sys.modules.get("httpx")
    if module is not None:
        return module
    if "httpx._main" not in sys.modules:
        stand_in = types.ModuleType("httpx._main", "stacktui: httpx's CLI, not imported")
        stand_in.main = _no_cli  # type: ignore[attr-defined]
        sys.modules["httpx._main"] = stand_in
    import httpx

    return httpx
