"""httpx, the probes' and gates' client library, imported on first use and only then.

Most commands and many stacks never probe an `x-stacktui.health` URL, so nothing imports httpx
on the way to a first frame or a command's answer. httpx's own import also loads its command
line's modules (click, pygments, part of rich): measured here, 93 more modules, 6 MB resident
and about 40 ms, on that first use only. No stand-in module is put into sys.modules for them.
"""
from __future__ import annotations

import threading
from typing import Any

# Workers (gates, probes, the healer) ask for httpx at once. Without the lock a second thread finds
# the module in sys.modules while the first is still importing it, half-built (no `Client` yet).
_LOCK = threading.Lock()
_loaded: Any = None


def load_httpx() -> Any:
    """The httpx module, fully imported (once; later calls are a global read), from any thread."""
    global _loaded
    if _loaded is not None:
        return _loaded
    with _LOCK:
        if _loaded is None:
            # The import statement waits for another thread's import of the same module to finish.
            import httpx

            _loaded = httpx
    return _loaded
