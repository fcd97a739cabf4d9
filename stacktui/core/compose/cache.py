"""Compose's effective config kept between runs, used only while nothing it came from has changed.

`compose config` is a process start and a parse of every file (60-100 ms on the demo stack,
0.4 s on 200 services here), on the way to the TUI's first frame. Its answer depends on the
compose files, the env file Compose reads, the environment and the Compose program; the key
holds all of them, and an entry is used only when the key read back is equal to the one
computed now:

- each compose file's (inode, size, mtime in ns), taken before and after reading it (a file
  written meanwhile is not cached), and a digest of its bytes: the kernel stamps mtime from a
  coarse clock (a few ms), so two same-size writes in place can share all three;
- the same for the env file Compose reads (the `--env-file`s, else the project folder's `.env`);
- every environment variable whose name appears anywhere in the files (interpolation, and
  `environment: [NAME]` that takes its value from the environment), and every COMPOSE_* and
  DOCKER_* variable, as Compose would see them (the process environment with the target's own);
- the command line (files, project name and folder, env files, profiles) and the Compose
  program: its path, size and mtime, and those of the docker CLI's compose plugins;
- stacktui's version and this format's.

Beside the config, each entry keeps the answers loading the project got from stacktui's own
read of the files (compose.known): they depend on the files' bytes alone, so a hit reads
neither Compose nor the files before the first frame.

Files that make Compose read other files (`env_file`, `extends`, `include`, `label_file`) are
never cached: their content is not in the key. One entry per project (named by its command
line), written atomically in the user's cache folder (XDG_CACHE_HOME) and replaced when the key
changes; a mismatch removes it. A cache that cannot be read or written only costs the Compose
call.
"""
from __future__ import annotations

import json
import logging
import os
import re
import zlib
from pathlib import Path
from typing import Any

from stacktui import __version__
from stacktui.core.compose.cli import _PLUGIN_DIRS, ComposeTarget, compose_command

log = logging.getLogger(__name__)

FORMAT = 2  # 2: the source answers beside the config
# A file that names one of these makes Compose read another file whose content the key cannot see.
_READS_OTHER_FILES = re.compile(r"\b(?:env_file|extends|include|label_file)\b")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ALWAYS = ("COMPOSE_", "DOCKER_")
MAX_BYTES = 64 << 20  # a config past this is not worth keeping (and not read back)
KEEP = 64  # entries (projects) kept; the oldest go first


def cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "stacktui" / "compose-config"


def _stamp(path: Path | str) -> list[Any] | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return [st.st_ino, st.st_size, st.st_mtime_ns]


def _digest(data: bytes) -> int:
    """A checksum beside the stat, not a defence against anyone: zlib's CRC costs nothing to import
    (hashlib's OpenSSL binding costs start-up 3-4 ms)."""
    return zlib.crc32(data)


def _content(path: Path) -> list[Any]:
    """Stamp and digest of a file that may be missing."""
    try:
        return [_stamp(path), _digest(path.read_bytes())]
    except FileNotFoundError:
        return [None, None]


def _program(cmd: tuple[str, ...]) -> list[Any]:
    paths = [cmd[0]]
    if os.path.basename(cmd[0]) == "docker":  # `docker compose`: the plugin is the program that answers
        paths += [os.path.join(os.path.expanduser(d), "docker-compose") for d in _PLUGIN_DIRS]
    return [list(cmd), [[p, _stamp(p)] for p in paths]]


def _env_files(target: ComposeTarget) -> list[Path]:
    if target.env_files:
        return list(target.env_files)
    folder = target.project_directory or (target.files[0].parent if target.files else Path.cwd())
    return [Path(folder) / ".env"]


def config_key(target: ComposeTarget) -> dict[str, Any] | None:
    """What Compose's answer for this target depends on; None when it cannot be cached."""
    if not target.files:
        return None
    try:
        files: list[list[Any]] = []
        names: set[str] = set()
        for f in target.files:
            before = _stamp(f)
            data = Path(f).read_bytes()
            text = data.decode("utf-8")
            if before is None or _stamp(f) != before or _READS_OTHER_FILES.search(text):
                return None
            files.append([str(f), before, _digest(data)])
            names.update(_NAME.findall(text))
        env_files = [[str(p), *_content(p)] for p in _env_files(target)]
        program = _program(compose_command())
    except (OSError, UnicodeDecodeError):
        return None
    env = {**os.environ, **target.env}
    wanted = {k: v for k, v in env.items() if k in names or k.startswith(_ALWAYS)}
    return {"format": FORMAT, "stacktui": __version__, "args": target.global_args(), "files": files,
            "env_files": env_files, "env": dict(sorted(wanted.items())), "compose": program}


def _entry(target: ComposeTarget) -> Path:
    identity = json.dumps([target.global_args(), list(compose_command())])
    return cache_dir() / f"{zlib.crc32(identity.encode()):08x}-{len(identity)}.json"  # a clash only misses


def lookup(target: ComposeTarget) -> tuple[dict[str, Any] | None, dict[str, Any] | None, dict[str, Any] | None]:
    """(the cached config or None, the key now, the source answers kept with it or None): pass
    the key to store() once Compose has answered."""
    try:
        key = config_key(target)
    except Exception:  # compose_command() raising: the Compose call says it properly
        return None, None, None
    if key is None:
        return None, None, None
    path = _entry(target)
    try:
        if path.stat().st_size > MAX_BYTES:
            return None, key, None
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None, key, None
    if not isinstance(data, dict) or data.get("key") != key or not isinstance(data.get("config"), dict):
        forget(target)  # stale: never read again
        return None, key, None
    answers = data.get("source")
    return data["config"], key, answers if isinstance(answers, dict) else None


def store(target: ComposeTarget, key: dict[str, Any] | None, config: dict[str, Any],
          source: dict[str, Any] | None = None) -> None:
    """Keep Compose's answer under the key computed before it was asked (atomically), with the
    source answers loading got (compose.known) when they survive JSON unchanged."""
    if key is None:
        return
    path = _entry(target)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        text = json.dumps({"key": key, "config": config}, separators=(",", ":"))
        if json.loads(text)["config"] != config:  # read from Compose's YAML (a value JSON cannot carry)
            return
        answers = _answers_text(source)
        if answers is not None:
            text = text[:-1] + ',"source":' + answers + "}"
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp.write_text(text)
        os.replace(tmp, path)
    except (OSError, TypeError, ValueError):
        tmp.unlink(missing_ok=True)
        return
    _prune(path.parent)


def _answers_text(source: dict[str, Any] | None) -> str | None:
    """The source answers as JSON, or None when JSON would change them (a hit then reads the files)."""
    if source is None:
        return None
    try:
        text = json.dumps(source, separators=(",", ":"))
        return text if json.loads(text) == source else None
    except (TypeError, ValueError):
        return None


def _prune(folder: Path) -> None:
    """Keep the KEEP most recently written entries (every test's temporary project makes one)."""
    try:
        entries = sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
        for old in entries[KEEP:]:
            old.unlink(missing_ok=True)
    except OSError:
        pass


def forget(target: ComposeTarget) -> None:
    try:
        _entry(target).unlink(missing_ok=True)
    except Exception as exc:  # no Compose program: nothing was cached for it
        log.debug("no cached answer forgotten: %s", exc)
