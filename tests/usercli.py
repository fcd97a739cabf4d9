"""The stacktui command as a user's install runs it, for tests that start it as a process.

A user's environment holds stacktui and what it declares (pyproject.toml's dependencies and the
`serve` extra), not this virtualenv's test tools. Those matter to a process start: httpx loads its
own command line's modules when click is importable (import-linter brings it) and httpcore imports
trio when it is (selenium brings it), 170 modules and about 0.1 s of CPU on every `stacktui status`
the tests start, a third of its time. So the command runs with `python -S` (no site-packages) and a
path of this checkout first, then a folder of hard links to exactly the declared distributions,
laid out once per run. A module stacktui imports without declaring it then fails here, as it would
for the user.
"""
from __future__ import annotations

import importlib.metadata as metadata
import os
import re
import sys
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
RUNTIME_VAR = "STACKTUI_TEST_RUNTIME"
EXTRAS = ("serve",)


def _key(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _closure(name: str, extras: tuple[str, ...], seen: dict[str, metadata.Distribution]) -> None:
    if _key(name) in seen:
        return
    dist = metadata.distribution(name)
    seen[_key(name)] = dist
    for line in dist.requires or []:
        req = Requirement(line)
        if req.marker is not None and not any(req.marker.evaluate({"extra": e}) for e in ("", *extras)):
            continue
        _closure(req.name, tuple(req.extras), seen)


def lay_out(dest: Path) -> Path:
    """Hard links (copies across file systems) to every file of stacktui's declared runtime
    distributions, their compiled bytecode included; stacktui itself comes from the checkout."""
    seen: dict[str, metadata.Distribution] = {}
    _closure("stacktui", EXTRAS, seen)
    dest.mkdir(parents=True, exist_ok=True)
    for key, dist in seen.items():
        if key == "stacktui":
            continue
        for file in dist.files or []:
            if ".." in file.parts:
                continue  # scripts and data outside site-packages
            src = Path(str(dist.locate_file(file)))
            if not src.is_file():
                continue
            target = dest / file
            target.parent.mkdir(parents=True, exist_ok=True)
            if not target.exists():
                link_or_copy(str(src), str(target))
    return dest


def link_or_copy(src: str, dest: str) -> None:
    """A hard link where the file system allows (instant, no space), else a copy."""
    try:
        os.link(src, dest)
    except OSError:
        import shutil

        shutil.copy2(src, dest)


def cli_path() -> str:
    """PYTHONPATH for the command: the checkout under test, then the run's runtime folder."""
    runtime = os.environ.get(RUNTIME_VAR)
    if not runtime:  # a process that is not under this run's conftest: a folder of its own
        import atexit
        import shutil
        import tempfile

        runtime = str(lay_out(Path(tempfile.mkdtemp(prefix="stacktui-cli-"))))
        atexit.register(shutil.rmtree, runtime, True)
        os.environ[RUNTIME_VAR] = runtime
    return f"{ROOT}{os.pathsep}{runtime}"


# `stacktui` as a process, run with PYTHONPATH=cli_path() in its environment.
STACKTUI = (sys.executable, "-S", "-m", "stacktui")


def cli_env(**extra: str) -> dict[str, str]:
    """This process's environment with the command's path, and extra."""
    return {**os.environ, "PYTHONPATH": cli_path(), **extra}
