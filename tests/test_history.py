"""Atomic writes, the history beside the compose file, and undo (byte for byte)."""
from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path

import pytest

from stacktui.core.compose.discovery import resolve_target
from stacktui.core.errors import ConfigError
from stacktui.core.layout.history import (FileChanged, atomic_write, entries_for, prepare_undo, project_history,
                                   revert, sha256, write_change)
from stacktui.core.layout.prepare import prepare_separate
from stacktui.core.loader import load_project

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def agentdb9(tmp_path: Path) -> Path:
    dest = tmp_path / "agentdb9"
    shutil.copytree(ROOT / "compose" / "agentdb9", dest)
    return dest / "docker-compose.yml"


def load(file: Path):
    return load_project(resolve_target([file]))


def test_atomic_write_keeps_the_mode_and_leaves_no_temp_file(tmp_path):
    file = tmp_path / "compose.yaml"
    file.write_text("old\n")
    os.chmod(file, 0o640)
    inode = file.stat().st_ino
    atomic_write(file, b"new\n")
    assert file.read_bytes() == b"new\n"
    assert stat.S_IMODE(file.stat().st_mode) == 0o640
    assert file.stat().st_ino != inode, "replaced by rename, not rewritten in place"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["compose.yaml"]


def test_a_symlinked_compose_file_stays_a_symlink(tmp_path):
    real = tmp_path / "real.yaml"
    real.write_text("old\n")
    link = tmp_path / "compose.yaml"
    link.symlink_to(real)
    atomic_write(link, b"new\n")
    assert link.is_symlink() and real.read_text() == "new\n"


def test_a_change_is_recorded_with_time_reason_and_exact_bytes(agentdb9):
    original = agentdb9.read_bytes()
    change = prepare_separate(load(agentdb9), "mcp-server")
    entry = write_change(change)
    assert agentdb9.read_bytes() == change.new_text.encode()
    assert entry.id == 1 and entry.kind == "separate"
    assert entry.reason == "separate mcp-server from vscode (ports 9001, 9002)"
    hist = agentdb9.parent / ".stacktui" / "history"
    line = json.loads((hist / "index.jsonl").read_text().splitlines()[0])
    assert line["time"].endswith("+00:00") and line["file"] == "docker-compose.yml"
    assert (hist / "blobs" / line["before"]).read_bytes() == original
    assert (hist / "blobs" / line["after"]).read_bytes() == change.new_text.encode()
    assert entries_for(agentdb9) == [entry]


def test_undo_restores_byte_for_byte_and_undoing_the_undo_redoes(agentdb9):
    original = agentdb9.read_bytes()
    first = write_change(prepare_separate(load(agentdb9), "mcp-server"))
    separated = agentdb9.read_bytes()

    undo = prepare_undo(load(agentdb9))
    assert undo.kind == "undo" and undo.undoes == first.id
    assert set(undo.touched_services) == {"vscode", "mcp-server", "backend"}
    write_change(undo)
    assert agentdb9.read_bytes() == original

    redo = prepare_undo(load(agentdb9))
    assert redo.undoes == 2
    write_change(redo)
    assert agentdb9.read_bytes() == separated
    assert [e.kind for e in project_history(load(agentdb9))] == ["separate", "undo", "undo"]


def test_a_change_prepared_on_older_text_is_refused(agentdb9):
    change = prepare_separate(load(agentdb9), "mcp-server")
    edited = agentdb9.read_bytes() + b"# my own edit\n"
    agentdb9.write_bytes(edited)
    with pytest.raises(FileChanged, match="changed on disk"):
        write_change(change)
    assert agentdb9.read_bytes() == edited
    assert not (agentdb9.parent / ".stacktui").exists()


def test_undo_refuses_to_discard_later_edits(agentdb9):
    write_change(prepare_separate(load(agentdb9), "mcp-server"))
    edited = agentdb9.read_bytes().replace(b"image: agentdb9/backend:latest", b"image: agentdb9/backend:2")
    agentdb9.write_bytes(edited)
    with pytest.raises(FileChanged, match="edited after change #1"):
        prepare_undo(load(agentdb9))
    assert agentdb9.read_bytes() == edited


def test_nothing_to_undo_says_so(agentdb9):
    with pytest.raises(ConfigError, match="no layout change to undo"):
        prepare_undo(load(agentdb9))


def test_a_rolled_back_apply_is_not_what_undo_reverts(agentdb9):
    original = agentdb9.read_bytes()
    change = prepare_separate(load(agentdb9), "mcp-server")
    entry = write_change(change)
    back = revert(change, entry, "verify: backend could not reach mcp-server")
    assert agentdb9.read_bytes() == original
    assert back.kind == "rollback" and back.undoes == entry.id
    assert back.before == sha256(change.new_text.encode()) and back.after == sha256(original)
    with pytest.raises(ConfigError, match="no layout change to undo"):
        prepare_undo(load(agentdb9))
