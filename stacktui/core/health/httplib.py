"""httpx without its command line: the probes' client library, imported for what stacktui uses.

`import httpx` also imports its `httpx` CLI (click, pygments and much of rich): 63 modules and
4 MB resident, measured here, in a TUI that never runs that CLI. When httpx is not imported yet,
a stand-in `httpx._main` is put in its place first; httpx itself is unchanged.
"""
from __future__ import annotations

import sys
import threading
import types
from typing import Any

# Workers (gates, probes, the healer) ask for httpx at once. Without the lock a second thread finds
# the module in sys.modules while the first is still importing it, half-built (no `Client` yet).
_LOCK = threading.Lock()
_loaded: Any = None


def _no_cli(*_args: Any, **_kwargs: Any) -> None:
    raise SystemExit("httpx's command line is not available inside stacktui")


def load_httpx() -> Any:
    """The httpx module, fully imported (once; later calls are a global read), from any thread."""
    global _loaded
    if _loaded is not None:
        return _loaded
    with _LOCK:
        if _loaded is None:
            if "httpx" not in sys.modules and "httpx._main" not in sys.modules:
                stand_in = types.ModuleType("httpx._main", "stacktui: httpx's CLI, not imported")
                stand_in.main = _no_cli  # type: ignore[attr-defined]
                sys.modules["httpx._main"] = stand_in
            # The import statement waits for another thread's import of the same module to finish.
            import httpx

            _loaded = httpx
    return _loaded
