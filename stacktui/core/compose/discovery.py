"""Find the compose files and the project name the way Compose v2 does.

Compose's own order (compose-go `cli/options.go`, as `docker compose` chains it):
1. the environment is the process environment, then the `.env` of the working
   directory (or the `--env-file`s) fills in what the process did not set;
2. files: `-f` (repeatable), else COMPOSE_FILE (split on COMPOSE_PATH_SEPARATOR,
   default os.pathsep, relative to the current directory), else the first of
   compose.yaml / compose.yml / docker-compose.yml / docker-compose.yaml in the
   working directory or the nearest parent that has one, plus the first of the
   override names found beside it;
3. the `.env` of the project directory (now known) is read once more;
4. the name: `-p`, else COMPOSE_PROJECT_NAME, else a top-level `name:`, else the
   project directory's base name. Compose prints the resolved name in `config`,
   so only the attach case (no file at all) needs it from here.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Mapping, Sequence

from stacktui.core.compose.cli import ComposeTarget
from stacktui.core.compose.dotenv import read_dotenv
from stacktui.core.errors import ConfigError

CANDIDATES = ("compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml")
OVERRIDES = ("compose.override.yml", "compose.override.yaml", "docker-compose.override.yml",
             "docker-compose.override.yaml")
_NAME_RULE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


def search_upward(start: Path) -> list[Path]:
    """The first compose file in start or a parent, and the first override file beside it."""
    here = start.resolve()
    for folder in (here, *here.parents):
        for name in CANDIDATES:
            found = folder / name
            if found.is_file():
                files = [found]
                for override in OVERRIDES:
                    if (folder / override).is_file():
                        files.append(folder / override)
                        break
                return files
    return []


def _env_files(explicit: Sequence[Path], working_dir: Path, env: Mapping[str, str]) -> list[Path]:
    if explicit:
        return list(explicit)
    if env.get("COMPOSE_DISABLE_ENV_FILE", "").lower() in ("1", "true", "t", "yes"):
        return []
    default = working_dir / ".env"
    return [default] if default.is_file() else []


def _fill_from(env: dict[str, str], files: Sequence[Path]) -> dict[str, str]:
    """Values the files add (earlier sources win, as in Compose); returns what was added."""
    added: dict[str, str] = {}
    for f in files:
        if not f.is_file():
            raise ConfigError(f"env file not found: {f}", hint="check --env-file")
        for key, value in read_dotenv(f).items():
            if key not in env:
                env[key] = value
                added[key] = value
    return added


def _absolute(path: Path) -> Path:
    """The path made absolute and `..` folded as written, symlinks left as they are (as Compose does)."""
    return Path(os.path.abspath(path))


def normalize_name(name: str) -> str:
    """Compose's normalisation of a directory name into a project name."""
    lowered = re.sub(r"[^a-z0-9_-]", "", name.lower())
    return lowered.lstrip("_-")


class NoProject(ConfigError):
    """No compose file found and no project named: the TUI shows every project instead."""


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
    cwd = (cwd or Path.cwd()).resolve()
    env: dict[str, str] = dict(os.environ if environ is None else environ)
    explicit_env = [p if p.is_absolute() else cwd / p for p in (Path(e) for e in env_files)]
    project_dir = (cwd / Path(project_directory)).resolve() if project_directory else None
    if project_name is not None and project_name != "" and not _NAME_RULE.match(project_name):
        raise ConfigError(f"invalid project name {project_name!r}",
                          hint="use lowercase letters, digits, dashes and underscores, starting with a letter or digit")

    chosen: list[Path] = []
    for f in files:
        if str(f) == "-":
            raise ConfigError("stacktui cannot read a compose file from standard input",
                              hint="pass a file path with -f")
        p = Path(f)
        # Not resolved: Compose takes a symlinked file's own folder (not its target's) as the
        # project folder, for the name and the .env.
        chosen.append(_absolute(cwd / p))

    # First pass: the .env of the directory Compose would call the working directory right now.
    first_dir = project_dir or (chosen[0].parent if chosen else cwd)
    first_env = _env_files(explicit_env, first_dir, env)
    from_first = _fill_from(env, first_env)

    if not chosen and env.get("COMPOSE_FILE"):
        sep = env.get("COMPOSE_PATH_SEPARATOR") or os.pathsep
        for part in env["COMPOSE_FILE"].split(sep):
            if part:
                p = Path(part)
                chosen.append(_absolute(cwd / p))
    elif not chosen:
        chosen = search_upward(project_dir or cwd)
    for f in chosen:
        if not f.is_file():
            raise ConfigError(f"compose file not found: {f}",
                              hint="check -f or COMPOSE_FILE"
                              + (" (set in .env)" if "COMPOSE_FILE" in from_first else ""))

    # Second pass: the project directory is known now, and its .env may differ from the first one.
    working_dir = project_dir or (chosen[0].parent if chosen else cwd)
    if working_dir != first_dir and not explicit_env:
        _fill_from(env, _env_files(explicit_env, working_dir, env))

    name = project_name or env.get("COMPOSE_PROJECT_NAME") or None
    if not chosen and not name:
        raise NoProject(
            f"no compose file in {project_dir or cwd} or its parents",
            hint="run stacktui in the project folder, pass -f FILE, or -p NAME to attach to a running project",
        )
    # Compose run later with `-f` reads only the project directory's .env; values the first
    # .env supplied (a subfolder's) must reach it as environment, where they win as they did here.
    carried = {k: v for k, v in from_first.items() if working_dir != first_dir and k != "COMPOSE_FILE"}
    return ComposeTarget(
        files=tuple(chosen),
        project_name=name,
        project_directory=project_dir,
        env_files=tuple(explicit_env),
        profiles=tuple(profiles),
        env=carried,
    )
