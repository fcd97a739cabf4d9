"""Atomic writes, the history beside the compose file, and undo (byte for byte)."""
from __future__ import annotations

import json
import os
import pwd
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from tests.usercli import STACKTUI, cli_env

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


def cli(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*STACKTUI, *args], cwd=folder, capture_output=True, text=True,
                          timeout=60, env=cli_env(NO_COLOR="1"))


def test_a_damaged_history_index_is_named_with_its_line_and_nothing_is_written(agentdb9):
    folder = agentdb9.parent
    assert cli(folder, "layout", "separate", "mcp-server", "--no-up", "--yes").returncode == 0
    index = folder / ".stacktui" / "history" / "index.jsonl"
    index.write_text(index.read_text() + "{not json\n")
    separated = agentdb9.read_bytes()
    for args in (("layout", "history"), ("layout", "undo", "--no-up", "--yes")):
        done = cli(folder, *args)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert done.stderr.startswith("stacktui: damaged history entry: "), done.stderr
        assert f"({index}:2 is not an entry stacktui wrote; fix or remove that line)" in done.stderr
        assert "Traceback" not in done.stderr
    assert agentdb9.read_bytes() == separated


def test_a_damaged_history_blob_stops_undo_and_nothing_is_written(agentdb9):
    folder = agentdb9.parent
    original = agentdb9.read_bytes()
    assert cli(folder, "layout", "separate", "mcp-server", "--no-up", "--yes").returncode == 0
    separated = agentdb9.read_bytes()
    before = folder / ".stacktui" / "history" / "blobs" / sha256(original)
    before.write_bytes(original.replace(b"vscode", b"vsc0de", 1))  # one byte off
    done = cli(folder, "layout", "undo", "--no-up", "--yes")
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr == f"stacktui: history blob {before} is damaged (its hash does not match)\n"
    assert agentdb9.read_bytes() == separated


def test_a_symlinked_compose_file_is_refused_up_front_when_its_history_cannot_be_kept():
    """The history goes beside the file as the user names it (the link); the check looks there
    too, not beside the link's target, so nothing is written that could not be recorded."""
    from tests.faults_support import as_nobody, nobody_python, world_readable_dir

    top = world_readable_dir("stk-symlink-")
    try:
        real = top / "real"
        shutil.copytree(ROOT / "compose" / "agentdb9", real)
        nobody = pwd.getpwnam("nobody")
        for path in [real, *real.rglob("*")]:
            os.chown(path, nobody.pw_uid, nobody.pw_gid)  # the target and its folder are nobody's
        links = top / "links"  # root's: nobody cannot write here
        links.mkdir(mode=0o755)
        (links / "docker-compose.yml").symlink_to(real / "docker-compose.yml")
        (links / "workspace").symlink_to(real / "workspace")
        before = (real / "docker-compose.yml").read_bytes()
        runner = nobody_python(top / "py")
        env = runner.env(DOCKER_HOST=os.environ.get("DOCKER_HOST", ""))
        done = as_nobody([runner.python, "-m", "stacktui", "layout", "separate", "mcp-server", "--no-up", "--yes"],
                         links, env)
        assert done.returncode == 2, done.stdout + done.stderr
        assert done.stderr.startswith(f"stacktui: cannot write in {links} (the history of changes is kept there, "
                                      "for undo); nothing was written"), done.stderr
        assert (real / "docker-compose.yml").read_bytes() == before
        assert not (links / ".stacktui").exists() and not (real / ".stacktui").exists()
    finally:
        shutil.rmtree(top)
