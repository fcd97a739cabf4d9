"""One plan per project at a time, across processes: an flock on a file per project."""
from __future__ import annotations

import fcntl
import os
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from stacktui.core.errors import Busy


def lock_dir() -> Path:
    base = os.environ.get("XDG_RUNTIME_DIR") or os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    path = Path(base) / "stacktui" / "locks"
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        # A user without a home (or with HOME pointing elsewhere) still gets a lock of their own.
        path = Path(tempfile.gettempdir()) / f"stacktui-{os.getuid()}" / "locks"
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


@contextmanager
def project_lock(project: str, what: str, wait: float = 0.0) -> Iterator[None]:
    """Hold the project's lock while `what` runs; wait up to `wait` seconds, then raise Busy.

    The kernel drops an flock when its holder dies, so a crashed plan never wedges the project.
    """
    path = lock_dir() / f"{project}.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    deadline = time.monotonic() + wait
    held = False
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "another stacktui"
                    raise Busy(f"project {project} is busy: {holder}",
                               hint="wait for it to finish, then try again") from None
                time.sleep(0.1)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{what} (pid {os.getpid()})".encode(), 0)
        held = True
        yield
    finally:
        if held:
            # Still under the lock: the next holder's first instant (locked, name not yet written)
            # must read as "another stacktui", never as this finished holder's name.
            os.ftruncate(fd, 0)
        os.close(fd)  # closing releases the flock
