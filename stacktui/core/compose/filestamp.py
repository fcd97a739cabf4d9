"""Whether the compose files changed on disk since the model was read from them (stat only: cheap)."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

FileStamp = tuple[int, int, int] | None


def files_stamp(paths: Iterable[Path]) -> tuple[FileStamp, ...]:
    """What changes when any of these files is written: (inode, size, mtime in ns); None when missing.

    Editors and stacktui itself replace a file by renaming a new one over it, which changes
    the inode even when size and mtime (coarse on some file systems) stay the same.
    """
    stamps: list[FileStamp] = []
    for path in paths:
        try:
            st = os.stat(path)
        except OSError:
            stamps.append(None)
        else:
            stamps.append((st.st_ino, st.st_size, st.st_mtime_ns))
    return tuple(stamps)
