"""Find the compose files the way Compose does.

Order of precedence, as in Compose v2: `-f` (repeatable), else COMPOSE_FILE
(split on COMPOSE_PATH_SEPARATOR, default os.pathsep), else the first of
compose.yaml / compose.yml / docker-compose.yaml / docker-compose.yml found in
the working directory or any parent, plus its override file beside it.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping, Sequence

from stacktui.core.composecli import ComposeTarget
from stacktui.core.errors import ConfigError

CANDIDATES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")
OVERRIDES = {
    "compose.yaml": ("compose.override.yaml", "compose.override.yml"),
    "compose.yml": ("compose.override.yml", "compose.override.yaml"),
    "docker-compose.yaml": ("docker-compose.override.yaml", "docker-compose.override.yml"),
    "docker-compose.yml": ("docker-compose.override.yml", "docker-compose.override.yaml"),
}


def search_upward(start: Path) -> list[Path]:
    """The first compose file in start or a parent, and its override file if any."""
    here = start.resolve()
    for folder in (here, *here.parents):
        for name in CANDIDATES:
            found = folder / name
            if found.is_file():
                files = [found]
                for override in OVERRIDES[name]:
                    if (folder / override).is_file():
                        files.append(folder / override)
                        break
                return files
    return []


def resolve_target(
    files: Sequence[str | Path] = (),
    project_name: str | None = None,
    project_directory: str | Path | None = None,
    env_files: Sequence[str | Path] = (),
    profiles: Sequence[str] = (),
    *,
    cwd: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> ComposeTarget:
    """A ComposeTarget with explicit files, or one with none (attach by project name)."""
    env = os.environ if environ is None else environ
    cwd = (cwd or Path.cwd()).resolve()
    base = Path(project_directory).resolve() if project_directory else cwd
    chosen: list[Path] = []
    if files:
        for f in files:
            p = Path(f)
            if str(f) == "-":
                raise ConfigError("stacktui cannot read a compose file from standard input", hint="pass a file path with -f")
            chosen.append((cwd / p).resolve() if not p.is_absolute() else p)
    elif env.get("COMPOSE_FILE"):
        sep = env.get("COMPOSE_PATH_SEPARATOR") or os.pathsep
        for part in env["COMPOSE_FILE"].split(sep):
            if part:
                p = Path(part)
                chosen.append(p if p.is_absolute() else (base / p).resolve())
    else:
        chosen = search_upward(base)
    for f in chosen:
        if not f.is_file():
            raise ConfigError(f"compose file not found: {f}", hint="check -f or COMPOSE_FILE")
    name = project_name or env.get("COMPOSE_PROJECT_NAME") or None
    if not chosen and not name:
        raise ConfigError(
            f"no compose file in {base} or its parents",
            hint="run stacktui in the project folder, pass -f FILE, or -p NAME to attach to a running project",
        )
    return ComposeTarget(
        files=tuple(chosen),
        project_name=name,
        project_directory=Path(project_directory).resolve() if project_directory else None,
        env_files=tuple(Path(e) for e in env_files),
        profiles=tuple(profiles),
    )
