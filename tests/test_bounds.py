"""Issue 18: nothing stacktui starts runs away or outlives it, and an alias bomb never reaches Compose.

The CLI runs as a process here, so that the kernel's accounting of its children (and theirs)
and the signals sent to it are real. The slow Compose is a script named by STACKTUI_COMPOSE
that never answers and starts a child of its own, both writing their pids down.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any, Callable

import pytest

from stacktui.core import proc
from stacktui.core.compose import cli as composecli
from tests.conftest import ROOT
from tests.usercli import STACKTUI, cli_env
from tests.waiting import until

BOMB = "\n".join(
    ['x-a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    + [f"x-a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)]
    + ["services:", "  app:", "    image: busybox", "    labels:", "      bomb: *a8", ""])

SLOW_COMPOSE = textwrap.dedent("""\
    #!/bin/sh
    # A Compose that never answers, with a child of its own.
    echo "$$" >> "$SLOW_PIDS"
    sleep 300 &
    echo "$!" >> "$SLOW_PIDS"
    wait
    """)


def slow_compose(folder: Path) -> Path:
    """SLOW_COMPOSE written to folder as a program that can be run."""
    script = folder / "slow-compose"
    script.write_text(SLOW_COMPOSE)
    script.chmod(0o755)
    return script


def both_started(pids: Path) -> bool:
    """SLOW_COMPOSE has written its own pid and its child's."""
    return pids.exists() and len(pids.read_text().split()) == 2


def env_for(tmp_path: Path, **extra: str) -> dict[str, str]:
    return cli_env(XDG_CACHE_HOME=str(tmp_path / "cache"), **extra)


def gone(pid: int) -> bool:
    """No such process, or only its exit status left for init to collect (a zombie holds nothing)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state in ("Z", "X")


def wait_until_gone(pids: list[int], within: float = 10.0) -> list[int]:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        left = [p for p in pids if not gone(p)]
        if not left:
            return []
        time.sleep(0.05)
    return [p for p in pids if not gone(p)]


def left_running(pids: Path) -> list[int]:
    """Which of the pids written down are still running after a while; those are killed, so that
    a failing test leaves nothing behind."""
    left = wait_until_gone([int(p) for p in pids.read_text().split()])
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    return left


def test_an_alias_bomb_is_refused_with_file_and_line_before_compose_sees_it(tmp_path):
    """The whole tree's peak memory is the kernel's figure for the children of a wrapper process."""
    folder = tmp_path / "bomb"
    folder.mkdir()
    (folder / "compose.yaml").write_text(BOMB)
    measure = textwrap.dedent("""\
        import resource, subprocess, sys
        done = subprocess.run([sys.executable, "-m", "stacktui", "check", "--static"], capture_output=True, text=True)
        print(done.returncode)
        print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
        sys.stdout.write(done.stderr)
        """)
    done = subprocess.run([sys.executable, "-c", measure], cwd=folder, env=env_for(tmp_path), capture_output=True,
                          text=True, timeout=30)  # without the budget, Compose runs until its own 60 s limit
    code, peak_kib, *message = done.stdout.splitlines()
    assert code == "2", done.stdout + done.stderr
    assert message == [
        f"stacktui: {folder / 'compose.yaml'}:7: YAML aliases expand beyond the limit of 1,000,000 nodes: "
        "*a5 here adds 597,871 more (&a5 at line 6) (each level of nested aliases multiplies the size; "
        "nothing was passed to Compose)"]
    assert int(peak_kib) < 150 * 1024, f"peak resident memory of the process tree: {int(peak_kib) // 1024} MiB"


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_in_the_middle_of_a_slow_compose_leaves_no_process_behind(tmp_path, signum):
    (tmp_path / "compose.yaml").write_text("name: bounds-signal\nservices:\n  app:\n    image: busybox\n")
    slow = slow_compose(tmp_path)
    pids_file = tmp_path / "pids"
    # As from a shell: SIGINT at its default. A process started with SIGINT ignored keeps ignoring it
    # (Unix's rule for background jobs, which Python follows), and a test runner's worker may be one.
    cli = subprocess.Popen([*STACKTUI, "check", "--static"], cwd=tmp_path,
                           env=env_for(tmp_path, STACKTUI_COMPOSE=str(slow), SLOW_PIDS=str(pids_file)),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 30
        while not both_started(pids_file):
            assert cli.poll() is None, cli.communicate()
            assert time.monotonic() < deadline, "the slow compose never started"
            time.sleep(0.05)
        pids = [int(p) for p in pids_file.read_text().split()]
        cli.send_signal(signum)
        out, err = cli.communicate(timeout=20)
    finally:
        if cli.poll() is None:
            cli.kill()
            cli.wait()
    if signum == signal.SIGINT:
        assert (cli.returncode, err) == (130, "stacktui: interrupted\n")
    else:
        assert cli.returncode == 143, err
    assert wait_until_gone(pids) == [], "left running after stacktui ended"


def check_with_slow_compose(tmp_path: Path, monkeypatch, capsys, text: str, limit: float) -> tuple[int, str]:
    """`stacktui check --static` in-process on `text`, with a Compose that never answers (SLOW_COMPOSE,
    its pids in tmp_path/pids) under a `limit`-second time limit: (exit code, stderr)."""
    from stacktui.cli import main

    (tmp_path / "compose.yaml").write_text(text)
    slow = slow_compose(tmp_path)
    monkeypatch.setenv("STACKTUI_COMPOSE", str(slow))
    monkeypatch.setenv("SLOW_PIDS", str(tmp_path / "pids"))
    monkeypatch.setattr(composecli, "CONFIG_LIMITS", proc.Limits(timeout=limit, memory=2 << 30))
    composecli.compose_command.cache_clear()
    monkeypatch.chdir(tmp_path)
    try:
        code = main(["check", "--static"])
    finally:
        composecli.compose_command.cache_clear()
    return code, capsys.readouterr().err


def test_a_compose_that_hangs_is_stopped_at_its_time_limit_with_its_children(tmp_path, monkeypatch, capsys):
    code, err = check_with_slow_compose(tmp_path, monkeypatch, capsys,
                                        "name: bounds-hang\nservices:\n  app:\n    image: busybox\n", 2)
    assert code == 2
    assert err == (f"stacktui: {tmp_path / 'compose.yaml'}: Compose did not answer within 2.00 s (`slow-compose config`) "
                   "and was stopped (Compose itself does not finish reading this; `docker compose config` hangs on it "
                   "the same way; nothing was changed)\n")
    assert wait_until_gone([int(p) for p in (tmp_path / "pids").read_text().split()]) == []
    assert proc.running() == []


def test_a_file_stacktui_refuses_stops_the_compose_begun_beside_it_instead_of_waiting(tmp_path, monkeypatch, capsys):
    """Compose's `config` starts while stacktui reads the files itself; when the files' own error is the
    answer (here a YAML error; a file nested past stacktui's limit is another), that error is said at
    once and Compose is stopped with its children, not waited for to its time limit."""
    code, err = check_with_slow_compose(tmp_path, monkeypatch, capsys,
                                        "name: bounds-refused\nservices:\n  app:\n    image: [busybox\n", 60)
    assert code == 2
    # The file's error, not Compose's time limit.
    file = tmp_path / "compose.yaml"
    assert err == f"stacktui: {file}:5: invalid YAML: expected ',' or ']', but got '<stream end>'\n"
    # Compose may have been stopped before its script wrote a pid: what it did start is gone.
    pids = (tmp_path / "pids").read_text().split() if (tmp_path / "pids").exists() else []
    assert wait_until_gone([int(p) for p in pids]) == []
    assert proc.running() == []


def test_a_file_of_composes_own_loader_tests_that_compose_stalls_on_is_given_up_in_one_line(tmp_path, monkeypatch,
                                                                                          capsys):
    """compose-go's B3_N10 alias case (tests/data/compose-go-hang) passes stacktui's alias budget, and the real
    Compose 2.40 spends half a minute and 660 MB on it: stacktui stops it at its limit (set short here, as a
    slower machine or a worse file reaches the real one) and leaves nothing behind."""
    import psutil

    from stacktui.cli import main

    folder = tmp_path / "compose-go-hang"
    shutil.copytree(ROOT / "tests" / "data" / "compose-go-hang", folder)
    monkeypatch.setattr(composecli, "CONFIG_LIMITS", proc.Limits(timeout=3, memory=2 << 30))
    monkeypatch.chdir(folder)
    code = main(["check", "--static"])
    err = capsys.readouterr().err
    program = " ".join([os.path.basename(composecli.compose_command()[0]), *composecli.compose_command()[1:]])
    assert code == 2
    assert err == (f"stacktui: {folder / 'compose.yaml'}: Compose did not answer within 3.00 s (`{program} config`) and "
                   "was stopped (Compose itself does not finish reading this; `docker compose config` hangs on it the "
                   "same way; nothing was changed)\n")
    assert proc.running() == []
    left = [p.pid for p in psutil.process_iter(["cmdline"]) if str(folder) in " ".join(p.info["cmdline"] or [])]
    assert wait_until_gone(left) == [], "a Compose reading the file is still running"


def started_popen(pids: Path, then: Callable[[], None]) -> type[subprocess.Popen]:
    """A Popen that, once the child has started SLOW_COMPOSE's two processes, calls `then` before it
    returns: the moment a thread is descheduled or a signal lands between a child's start and run()
    knowing of it."""

    class Started(subprocess.Popen):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            until(lambda: both_started(pids), 30, "the child and its own child")
            then()

    return Started


def run_slow(pids: Path) -> subprocess.CompletedProcess[str]:
    return proc.run([str(slow_compose(pids.parent))], proc.Limits(timeout=60), env=cli_env(SLOW_PIDS=str(pids)))


def test_a_kill_from_another_thread_waits_for_a_child_being_started_and_takes_it(tmp_path, monkeypatch):
    """A signal handler runs on the main thread while Compose may be starting on another: its kill
    takes that child (and the programs it started) once it is started, rather than missing it."""
    pids = tmp_path / "pids"
    release = threading.Event()
    monkeypatch.setattr(proc.subprocess, "Popen", started_popen(pids, lambda: release.wait(30)))
    done: list[subprocess.CompletedProcess[str]] = []
    starter = threading.Thread(target=lambda: done.append(run_slow(pids)), daemon=True)
    starter.start()
    until(lambda: both_started(pids), 30, "the child and its own child")
    killer = threading.Thread(target=proc.kill_all, daemon=True)
    killer.start()
    killer.join(0.3)  # waiting for the start under way (without the wait it has found nothing by now)
    release.set()
    killer.join(30)
    starter.join(30)
    assert left_running(pids) == [], "the kill missed the child being started"
    assert [d.returncode for d in done] == [-signal.SIGKILL]
    assert proc.running() == []


def test_a_signal_while_the_main_thread_starts_a_child_takes_that_child_too(tmp_path, monkeypatch):
    """SIGINT landing inside Popen on the main thread is held until the child is known, then acts:
    the child's group is killed and reaped, and the interruption goes on up."""
    assert threading.current_thread() is threading.main_thread(), "signal handlers are the main thread's"
    pids = tmp_path / "pids"
    monkeypatch.setattr(proc.subprocess, "Popen", started_popen(pids, lambda: signal.raise_signal(signal.SIGINT)))
    with pytest.raises(KeyboardInterrupt), proc.signal_handlers():
        run_slow(pids)
    assert left_running(pids) == [], "the child started when the signal landed is still running"
    assert proc.running() == []


def test_a_start_stuck_before_its_child_runs_holds_a_kill_back_only_a_few_seconds(monkeypatch):
    """A child that never gets to exec (one deadlocked in its setup after fork) keeps its start
    under way: a kill waits for it a bounded time, then kills what it knows."""
    monkeypatch.setattr(proc, "_START_WAIT", 0.2)
    stuck, release = threading.Event(), threading.Event()

    def start_that_never_finishes() -> None:
        with proc._lock:  # what a start under way holds
            stuck.set()
            release.wait(30)

    starter = threading.Thread(target=start_that_never_finishes, daemon=True)
    starter.start()
    try:
        assert stuck.wait(10)
        killer = threading.Thread(target=proc.kill_all, daemon=True)
        killer.start()
        killer.join(10)
        assert not killer.is_alive(), "the kill waited on the stuck start"
    finally:
        release.set()
        starter.join(10)


def test_the_memory_limit_reaches_the_child():
    done = proc.run(["sh", "-c", "ulimit -d"], proc.Limits(timeout=10, memory=64 << 20))
    assert done.stdout.strip() == str(64 << 10)  # KiB


def test_a_child_dies_with_a_stacktui_killed_outright(tmp_path):
    """SIGKILL leaves no time to clean up: the parent-death signal still takes the direct child."""
    pid_file = tmp_path / "child"
    script = textwrap.dedent(f"""\
        from stacktui.core import proc
        proc.run(["sh", "-c", "echo $$ > {pid_file}; exec sleep 300"], proc.Limits(timeout=300))
        """)
    parent = subprocess.Popen([sys.executable, "-c", script], env=env_for(tmp_path))
    try:
        deadline = time.monotonic() + 30
        while not (pid_file.exists() and pid_file.read_text().strip()):
            assert parent.poll() is None
            assert time.monotonic() < deadline, "the child never started"
            time.sleep(0.05)
        child = int(pid_file.read_text())
        assert not gone(child)
        parent.kill()
    finally:
        parent.wait(timeout=20)
    assert wait_until_gone([child]) == []


async def test_the_tui_refuses_an_alias_bomb_written_under_it_and_keeps_the_last_good_model(tmp_path, engine):
    from stacktui.core.compose.discovery import resolve_target
    from stacktui.core.loader import load_project
    from stacktui.ui.app import StackApp

    file = tmp_path / "compose.yaml"
    file.write_text("name: bounds-tui\nservices:\n  app:\n    image: busybox\n")
    target = resolve_target([str(file)], cwd=tmp_path)
    app = StackApp(load_project(target), engine, target=target, reload=lambda: load_project(target),
                   probe_interval=None)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause(0.5)
            file.write_text(BOMB)
            deadline = time.monotonic() + 20
            notes: list[str] = []
            while not notes:
                assert time.monotonic() < deadline, "no notification"
                await pilot.pause(0.05)
                notes = [f"{n.title}: {n.message}" for n in app._notifications if "not reloaded" in n.title]
            assert f"{file}:7: YAML aliases expand beyond the limit of 1,000,000 nodes" in notes[0], notes
            assert list(app.project.services) == ["app"]
            assert proc.running() == []
            await pilot.press("q")
    finally:
        app.stop_core()


def test_compose_stopped_by_its_memory_limit_is_one_line_naming_the_limit(tmp_path, monkeypatch, capsys):
    """A fake Compose that fails the way Go does at RLIMIT_DATA (the real one needs minutes to get there)."""
    from stacktui.cli import main

    (tmp_path / "compose.yaml").write_text("name: bounds-oom\nservices:\n  app:\n    image: busybox\n")
    fake = tmp_path / "oom-compose"
    fake.write_text("#!/bin/sh\necho 'fatal error: runtime: cannot allocate memory' >&2\n"
                    "echo 'goroutine 1 [running]:' >&2\nexit 2\n")
    fake.chmod(0o755)
    monkeypatch.setenv("STACKTUI_COMPOSE", str(fake))
    composecli.compose_command.cache_clear()
    monkeypatch.chdir(tmp_path)
    try:
        code = main(["check", "--static"])
    finally:
        composecli.compose_command.cache_clear()
    assert code == 2
    assert capsys.readouterr().err == (
        f"stacktui: `oom-compose -f {tmp_path / 'compose.yaml'} config --format json` ran out of its memory limit "
        "(2048 MiB) and was stopped (a compose file that needs this much is likely built to expand, through YAML aliases)\n")
