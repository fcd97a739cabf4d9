"""Compose's cached config is used only while the files, the .env and the environment are the same.

Real Compose CLI, no engine: each change below is one Compose would answer differently, and the
project loaded after it must show Compose's new answer, not the cached one.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from stacktui.core import loader
from stacktui.core.compose import cache
from stacktui.core.compose.discovery import resolve_target

COMPOSE = """\
services:
  web:
    image: busybox
    command: ["sleep", "1"]
    ports:
      - "127.0.0.1:${WEB_PORT}:80"
    environment:
      - GREETING
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("GREETING", "hello")
    monkeypatch.delenv("WEB_PORT", raising=False)
    folder = tmp_path / "cachetest"
    folder.mkdir()
    (folder / "compose.yaml").write_text(COMPOSE)
    (folder / ".env").write_text("WEB_PORT=18101\n")
    return folder


def _seen(folder: Path) -> tuple[str | None, str | None]:
    """(web's published port, its GREETING) as the loaded project says."""
    web = loader.load_project(resolve_target(cwd=folder)).services["web"]
    return web.ports[0].published, web.environment.get("GREETING")


def _command(folder: Path) -> list[str]:
    return loader.load_project(resolve_target(cwd=folder)).services["web"].raw["command"]


def _cached(folder: Path) -> bool:
    return cache.lookup(resolve_target(cwd=folder))[0] is not None


def _no_compose(monkeypatch: pytest.MonkeyPatch) -> None:
    """From here on, asking Compose fails the test: what loads comes from the cache."""
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("Compose was asked although the cache should have answered")

    monkeypatch.setattr(loader.composecli, "run_config", refuse)


def test_cached_answer_is_used_until_an_input_changes(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert not _cached(project)
    assert _seen(project) == ("18101", "hello")  # Compose asked, the answer kept
    assert _cached(project)
    with monkeypatch.context() as m:
        _no_compose(m)
        assert _seen(project) == ("18101", "hello")
        m.setenv("SOME_UNRELATED_VARIABLE", "x")  # not named in the file: the entry stands
        assert _seen(project) == ("18101", "hello")

    # The .env, rewritten in place with the same size (same inode; the mtime may not move).
    (project / ".env").write_text("WEB_PORT=18102\n")
    assert not _cached(project)
    assert _seen(project) == ("18102", "hello")

    # A variable the file interpolates, set in the environment (it wins over the .env).
    monkeypatch.setenv("WEB_PORT", "18103")
    assert not _cached(project)
    assert _seen(project) == ("18103", "hello")

    # A variable the file takes from the environment without a `$`.
    monkeypatch.setenv("GREETING", "bonjour")
    assert not _cached(project)
    assert _seen(project) == ("18103", "bonjour")

    # The compose file itself, same size, in place, and its mtime put back: all its stat says the same.
    compose = project / "compose.yaml"
    before = compose.stat()
    compose.write_text(COMPOSE.replace('"sleep", "1"', '"sleep", "2"'))
    os.utime(compose, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert compose.stat().st_ino == before.st_ino and compose.stat().st_mtime_ns == before.st_mtime_ns
    assert not _cached(project)
    assert _command(project) == ["sleep", "2"]

    with monkeypatch.context() as m:  # and the newest answer is what the cache holds now
        _no_compose(m)
        assert _seen(project) == ("18103", "bonjour") and _command(project) == ["sleep", "2"]


def test_files_that_read_other_files_are_never_cached(project: Path) -> None:
    (project / "web.env").write_text("GREETING=from-file\n")
    (project / "compose.yaml").write_text(COMPOSE + "    env_file: [web.env]\n")
    assert _seen(project)[1] == "hello"  # the environment's value wins over env_file's in Compose
    assert not _cached(project)
    assert cache.config_key(resolve_target(cwd=project)) is None


def test_a_refused_config_is_not_cached(project: Path) -> None:
    (project / ".env").write_text("")  # WEB_PORT unset: stacktui refuses the empty port
    with pytest.raises(Exception):
        _seen(project)
    assert not _cached(project)


def test_a_cached_start_reads_no_file_and_keeps_every_line(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """On a cache hit the TUI's start imports no YAML library and parses no file (compose.known),
    yet every file:line the project carries is the one a full read gives, and a question loading
    did not ask (a check's finding) still reads the files and answers it."""
    first = loader.load_project(resolve_target(cwd=project))  # Compose asked, the files read, both kept
    assert _cached(project)
    script = (
        "import sys, json\n"
        "import stacktui.cli, stacktui.commands.tui, stacktui.ui.app\n"
        "from stacktui.core import loader\n"
        "from pathlib import Path\n"
        "from stacktui.core.compose.discovery import resolve_target\n"
        f"p = loader.load_project(resolve_target(cwd=Path({str(project)!r})))\n"
        "web = p.services['web']\n"
        "out = {'yaml': sorted(m for m in sys.modules if m.startswith('ruamel')),\n"
        "       'where': str(web.where), 'port': str(web.ports[0].where)}\n"
        "out['image'] = str(p.source.locate('web', 'image'))  # not asked by loading: the files are read now\n"
        "print(json.dumps(out))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)})
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen["yaml"] == []
    web = first.services["web"]
    assert (seen["where"], seen["port"]) == (str(web.where), str(web.ports[0].where))
    assert seen["where"].endswith("compose.yaml:2") and seen["port"].endswith("compose.yaml:6")
    assert seen["image"] == str(first.source.locate("web", "image")) and seen["image"].endswith("compose.yaml:3")
