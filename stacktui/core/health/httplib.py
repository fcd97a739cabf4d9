"""httpx, the probes' and gates' client library, imported on first use and only then.

Most commands and many stacks never probe an `x-stacktui.health` URL, so nothing imports httpx
on the way to a first frame or a command's answer. The first caller imports it under a lock
(the probe scheduler's thread and a plan's gates may ask at the same moment); later calls are a
global read. httpx's own import also loads its command line's modules (click, pygments, part of
rich): measured here, 93 more modules, 6 MB resident and about 40 ms, on that first use only.
"""
from __future__ import annotations

import threading
from typing import Any

_lock = threading.Lock()
_loaded: Any = None  # set once the import has finished: a module half-imported by another thread is not it


def load_httpx() -> Any:
    """The httpx module (imported once; later calls read one global)."""
    global _loaded
    if _loaded is None:
        with _lock:
            import httpx

            _loaded = httpx
    return _loaded
