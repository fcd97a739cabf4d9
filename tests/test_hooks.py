"""Hooks: the user's host commands on the watcher's events. A real heal on the demo (a raw `docker restart`
of the owner) reaches a hook with the very JSON `watch --json` prints, from `watch` and from the open TUI;
a hanging hook is stopped at its limit and said once; one run at a time, the events meanwhile counted; the
caller never waits."""
from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import psutil

from stacktui.core.heal.events import HealEvent
from stacktui.core.heal.hooks import HookRunner
from stacktui.core.settings import parse_settings
from stacktui.core.userconf import Hook
from tests.test_heal import docker, events, spawn_watch, stop_watch, wait_event
from tests.waiting import until, until_app

# Writes what it got: its environment, and the JSON from stdin (renamed into place last, so a file seen
# is whole), one file per event and service.
RECORD = ('f="{d}/$STACKTUI_EVENT-$STACKTUI_SERVICE"; '
          'printf "%s %s %s" "$STACKTUI_EVENT" "$STACKTUI_SERVICE" "$STACKTUI_MISSED" > "$f.env"; '
          'cat > "$f.part" && mv "$f.part" "$f.json"')


def read_json(path: Path) -> dict:
    return json.loads(path.read_text())


def test_a_hook_of_watch_gets_the_json_of_a_real_heal(demo_stack, engine, tmp_path):
    got = tmp_path / "got"
    got.mkdir()
    home = tmp_path / "cfg"
    (home / "stacktui").mkdir(parents=True)
    # One from config.toml on heal_done only, one from the command line on every event.
    (home / "stacktui" / "config.toml").write_text(
        f"[[hooks]]\non = ['heal_done']\nrun = '''echo config > {got}/config-hook'''\n")
    run = spawn_watch(demo_stack, "--heal", "--hook", RECORD.format(d=got), env={"XDG_CONFIG_HOME": str(home)})
    try:
        wait_event(run, "watching")
        docker("restart", "-t", "1", demo_stack.container(engine, "vscode").id)
        wait_event(run, "heal_done", "mcp-server")
        printed = {e["event"]: {k: v for k, v in e.items() if k != "_at"} for e in events(run)}
        done = until(lambda: (got / "heal_done-mcp-server.json").exists() and
                     read_json(got / "heal_done-mcp-server.json"), what="the hook's heal_done")
        assert done == printed["heal_done"]  # the same object watch --json printed
        assert done["owner"] == "vscode" and done["project"] == demo_stack.name
        assert read_json(got / "stale-mcp-server.json") == printed["stale"]
        assert (got / "heal_done-mcp-server.env").read_text() == "heal_done mcp-server 0"
        until(lambda: (got / "config-hook").exists(), what="the config.toml hook")
        # Only the events a hook may take: not watching, heal_started.
        assert sorted(p.name for p in got.glob("*.json")) == ["heal_done-mcp-server.json", "stale-mcp-server.json"]
    finally:
        assert stop_watch(run) == 0
    assert "hook" not in run.stderr  # none failed


async def test_the_open_tui_runs_the_hooks_with_heal_off_and_on(demo_stack, engine, tmp_path):
    from tests.test_ui_everyday import live_app

    got = tmp_path / "got"
    got.mkdir()
    settings = parse_settings(f"[[hooks]]\non = ['stale', 'heal_done']\nrun = '''{RECORD.format(d=got)}'''\n",
                              tmp_path / "config.toml")
    app = live_app(demo_stack, engine, settings)
    async with app.run_test(size=(140, 40)) as pilot:
        await until_app(pilot, lambda: app.table.status_of("mcp-server") and app.heal.healer is not None,
                        what="the table and the healer for the hooks")
        assert not app.heal.on
        docker("restart", "-t", "1", demo_stack.container(engine, "vscode").id)
        await until_app(pilot, lambda: (got / "stale-mcp-server.json").exists(), what="stale, with heal off", timeout=40)
        assert read_json(got / "stale-mcp-server.json")["owner"] == "vscode"
        await pilot.press("H")
        await until_app(pilot, lambda: (got / "heal_done-mcp-server.json").exists(), what="heal_done", timeout=60)
        assert read_json(got / "heal_done-mcp-server.json")["event"] == "heal_done"


def event(n: int, kind: str = "stale") -> HealEvent:
    return HealEvent(kind, "p", service=f"s{n}", owner="o", reason=f"number {n}")


def test_a_hanging_hook_is_stopped_at_its_limit_and_said_once_per_failure_streak(tmp_path):
    pids = tmp_path / "pids"
    hook = Hook(run=f'echo $$ >> {pids}; test -e {tmp_path}/ok && exit 0; sleep 300 & echo $! >> {pids}; wait',
                timeout=0.5, line=7)
    said: list[str] = []
    runner = HookRunner([hook], said.append)
    runner(event(1))
    until(lambda: runner.states[0].runs == 1, what="the first run stopped")
    assert len(said) == 1, said
    assert said[0].startswith("hook 'echo $$ >> ")
    assert said[0].endswith("(config.toml:7) did not finish within 0.50 s on stale and was stopped, with what it "
                            "started; said once until it succeeds again")
    for pid in map(int, pids.read_text().split()):  # the shell and the sleep it left behind
        until(lambda: not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE,
              what=f"pid {pid} gone")
    runner(event(2))
    until(lambda: runner.states[0].runs == 2, what="the second run stopped")
    assert len(said) == 1  # the same streak: not said again
    (tmp_path / "ok").touch()
    runner(event(3))
    until(lambda: runner.states[0].runs == 3, what="a run that succeeds")
    (tmp_path / "ok").unlink()
    runner(event(4))
    until(lambda: runner.states[0].runs == 4, what="a new failure")
    assert len(said) == 2  # a new streak is said again
    runner.close()


def test_one_run_at_a_time_the_events_meanwhile_counted_and_the_caller_never_waits(tmp_path):
    go = tmp_path / "go"
    hook = Hook(run=f'cat > {tmp_path}/run-$STACKTUI_SERVICE-missed-$STACKTUI_MISSED.json; '
                    f'while [ ! -e {go} ]; do sleep 0.05; done', on=("stale",), timeout=60)
    runner = HookRunner([hook], lambda text: None)
    caller = threading.current_thread()
    for n in range(1, 6):
        runner(event(n))  # returns at once: the hook waits for `go`, which only this thread makes
        runner(event(n, "heal_started"))  # not an event this hook takes
    assert threading.current_thread() is caller
    until(lambda: list(tmp_path.glob("run-*")), what="the first run")
    assert runner.running() == 1
    assert sorted(p.name for p in tmp_path.glob("run-*")) == ["run-s1-missed-0.json"]
    go.touch()
    until(lambda: runner.states[0].runs == 2, what="the second run")
    # The newest event, with the three it did not get on their own counted.
    assert sorted(p.name for p in tmp_path.glob("run-*")) == ["run-s1-missed-0.json", "run-s5-missed-3.json"]
    got = json.loads((tmp_path / "run-s5-missed-3.json").read_text())
    assert {k: v for k, v in got.items() if k != "time"} == {k: v for k, v in event(5).to_json().items() if k != "time"}
    runner.close(wait=10)
    assert not [t.name for t in threading.enumerate() if t.name.startswith("hook-")]  # closed means gone
    assert os.environ.get("STACKTUI_EVENT") is None  # the hook's environment is its own
