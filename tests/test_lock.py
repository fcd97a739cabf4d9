"""The project lock across real processes: a crashed holder, the fallback folder, the holder's name."""
from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import pytest

from stacktui.core.errors import Busy
from stacktui.core.lock import lock_dir, project_lock

ROOT = Path(__file__).resolve().parent.parent

HOLD = """
import sys, time
from stacktui.core.lock import project_lock
with project_lock(sys.argv[1], "restart owner"):
    print("holding", flush=True)
    sys.stdin.read()
"""

TRY = """
import sys
from stacktui.core.errors import Busy
from stacktui.core.lock import project_lock
try:
    with project_lock(sys.argv[1], "the second"):
        print("taken")
except Busy as exc:
    print(exc.message)
"""


def holder(project: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-c", HOLD, project], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})})
    assert proc.stdout is not None and proc.stdout.readline().strip() == "holding"
    return proc


def test_a_crashed_holder_leaves_the_project_free_at_once():
    project = f"t{uuid.uuid4().hex[:8]}"
    proc = holder(project)
    try:
        with pytest.raises(Busy, match=rf"project {project} is busy: restart owner \(pid {proc.pid}\)"):
            with project_lock(project, "the test"):
                pass
        proc.send_signal(signal.SIGKILL)  # no finally, no cleanup: the kernel drops the flock
        proc.wait(10)
        with project_lock(project, "the test"):  # wait=0: it must be free now, not after a timeout
            pass
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def test_a_holder_that_has_not_written_its_name_yet_is_never_a_finished_ones(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    project = f"t{uuid.uuid4().hex[:8]}"
    with project_lock(project, "layout: separate joiner"):
        pass
    # The next holder between its flock and writing its name, as project_lock takes it.
    fd = os.open(lock_dir() / f"{project}.lock", os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(Busy) as raised:
            with project_lock(project, "the test"):
                pass
        assert raised.value.message == f"project {project} is busy: another stacktui"
    finally:
        os.close(fd)


def test_without_a_usable_home_the_lock_falls_back_to_a_private_folder_under_tmp(tmp_path):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")  # XDG_CACHE_HOME is a file: no folder can be made under it
    env = {"HOME": str(blocked), "XDG_CACHE_HOME": str(blocked)}
    env_clean = {k: v for k, v in os.environ.items() if k != "XDG_RUNTIME_DIR"}
    where = subprocess.run([sys.executable, "-c", "from stacktui.core.lock import lock_dir; print(lock_dir())"],
                           capture_output=True, text=True, timeout=30, check=True,
                           env={**env_clean, **env, "PYTHONPATH": str(ROOT)}).stdout.strip()
    assert where == str(Path(tempfile.gettempdir()) / f"stacktui-{os.getuid()}" / "locks")
    project = f"t{uuid.uuid4().hex[:8]}"
    proc = subprocess.Popen([sys.executable, "-c", HOLD, project], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True, env={**env_clean, **env, "PYTHONPATH": str(ROOT)})
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "holding"
        assert (Path(where) / f"{project}.lock").exists()
        # Another process with the same environment finds the same lock, held.
        taken = subprocess.run([sys.executable, "-c", TRY, project], capture_output=True, text=True, timeout=30,
                               env={**env_clean, **env, "PYTHONPATH": str(ROOT)})
        assert taken.stdout.strip() == f"project {project} is busy: restart owner (pid {proc.pid})", taken.stderr
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(10)
