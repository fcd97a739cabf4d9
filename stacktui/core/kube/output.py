"""Writing an export: one YAML stream, or one file per object in a folder that is replaced whole.

A folder is written beside itself first and swapped in with renames, so a failed export leaves it
as it was; files of objects no longer exported go with the old folder.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from stacktui.core.errors import ConfigError
from stacktui.core.kube.yamlout import dump, dump_all

MARKER = ".stacktui-kube"  # a folder stacktui wrote: only such a folder (or an empty one) is replaced


def file_name(index: int, obj: dict[str, Any]) -> str:
    return f"{index:03d}-{obj['kind'].lower()}-{obj['metadata']['name']}.yaml"


def stream(objects: list[dict[str, Any]], said: list[str]) -> str:
    return dump_all(objects, said)


def write_dir(folder: Path, objects: list[dict[str, Any]]) -> list[Path]:
    folder = folder.resolve()
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"{folder} is a file, not a folder", hint="-o - writes one stream to stdout")
    if folder.is_dir() and any(folder.iterdir()) and not (folder / MARKER).exists():
        raise ConfigError(f"{folder} holds files stacktui did not write", hint="name an empty or new folder")
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".tmp", dir=folder.parent))
    try:
        names = []
        for i, obj in enumerate(objects, 1):
            name = file_name(i, obj)
            (staging / name).write_text(dump(obj), encoding="utf-8")
            names.append(name)
        (staging / MARKER).write_text("written by `stacktui kube export`; replaced whole on the next export\n")
        for f in staging.iterdir():
            with open(f, "rb") as fh:
                os.fsync(fh.fileno())
        os.chmod(staging, 0o755)
        _swap(staging, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return [folder / name for name in names]


def _swap(staging: Path, folder: Path) -> None:
    if not folder.exists():
        os.rename(staging, folder)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".old", dir=folder.parent))
    os.rmdir(old)
    os.rename(folder, old)
    try:
        os.rename(staging, folder)
    except BaseException:
        os.rename(old, folder)
        raise
    shutil.rmtree(old, ignore_errors=True)
