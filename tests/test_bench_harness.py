"""The benchmark machinery reads what it claims to read. Nothing here times anything.

- the raw reader turns the engine's multiplexed frames into exactly the lines a real container wrote;
- the tmux driver reads a real program's screen, sends it keys, and leaves nothing running;
- "populated table" recognises both tools' screens and not a half-drawn one;
- the results block of docs/benchmarks.md is replaced in place, the prose around it kept;
- the stand-in rows are never judged against targets;
- working again / layout downtime: the namespace probe asks from inside a container's network
  namespace what that container would ask, and the polls add up to the windows the rows report.
- the bare Textual app, the start-up floor, is timed to a screen that shows its whole table.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from bench.__main__ import END, START, write_results
from bench.availability import NamespaceProbe, back_at, container_pid, host_get_ok, longest_gap
from bench.harness import Row, format_markdown, format_table, percentile
from bench.nsprobe import get_ok
from bench.rawlogs import _frames, count_lines, read_batches
from bench.tmuxdrive import Terminal, tree_cpu_seconds, tree_rss_bytes
from bench.bare_table import ROWS
from bench.tools import bare_table, lazydocker, rows_populated

STACKTUI_SCREEN = """\
stacktui  project t1234
 service      state     health      ports
 vscode       running   ✔ healthy   127.0.0.1:18080->8080
 mcp-server   running   ✔ healthy   shares vscode
 backend      running   ✔ healthy
"""


def test_frames_split_across_reads_are_kept_for_the_next_read() -> None:
    frame = lambda payload: bytes([1, 0, 0, 0]) + len(payload).to_bytes(4, "big") + payload
    data = frame(b"one\ntw") + frame(b"o\nthree\n")
    payload, rest = _frames(data[:-3])
    assert payload == b"one\ntw" and rest == data[len(frame(b"one\ntw")):-3]
    payload, rest = _frames(rest + data[-3:])
    assert payload == b"o\nthree\n" and rest == b""


def test_raw_reader_reads_every_line_a_container_wrote(engine, demo_image: str) -> None:
    name = f"stkbtest-{psutil.Process().pid}"
    cmd = "awk 'BEGIN { for (i = 1; i <= 5000; i++) printf \"line %05d\\n\", i }'; echo tail-no-newline | tr -d '\\n'"
    try:
        subprocess.run(["docker", "run", "--network", "none", "--name", name, demo_image, "sh", "-c", cmd],
                       check=True, capture_output=True, timeout=60)
        cid = subprocess.run(["docker", "inspect", "-f", "{{.Id}}", name], capture_output=True, text=True,
                             check=True).stdout.strip()
        sock = engine.socket_path
        lines = [ln for batch in read_batches(sock, cid) for ln in batch]
        assert lines[0] == b"line 00001" and lines[4999] == b"line 05000"
        assert lines[-1] == b"tail-no-newline" and len(lines) == 5001
        assert count_lines(sock, cid) == 5001
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True, timeout=60)


def test_terminal_reads_the_screen_sends_keys_and_cleans_up(tmp_path: Path) -> None:
    script = "import sys; print('ready', flush=True); line = sys.stdin.readline(); print('got', line.strip(), flush=True); input()"
    term = Terminal([sys.executable, "-c", script], cwd=tmp_path, width=80, height=10)
    with term:
        term.wait_for(lambda s: "ready" in s, 20, "ready")
        proc = term.process()
        term.send("hello", "Enter")
        _, screen = term.wait_for(lambda s: "got hello" in s, 20, "the echo of the key")
        assert "got hello" in screen
    assert not proc.is_running() or proc.status() == psutil.STATUS_ZOMBIE
    alive = subprocess.run(["tmux", "-L", term.socket, "has-session"], capture_output=True)
    assert alive.returncode != 0
    assert not (Path("/tmp") / f"tmux-{os.getuid()}" / term.socket).exists()


# A child that burns CPU until its own clock says `burn` seconds, says how much it used, then either
# exits or (hold) keeps `hold` MB resident and waits for its stdin to close.
CHILD = """
import resource, sys
burn, hold = float(sys.argv[1]), int(sys.argv[2])
x = 0
while (lambda r: r.ru_utime + r.ru_stime)(resource.getrusage(resource.RUSAGE_SELF)) < burn:
    x += 1
kept = b"x" * (hold << 20)  # filled, so every page is resident
r = resource.getrusage(resource.RUSAGE_SELF)
print(f"cpu {r.ru_utime + r.ru_stime}", flush=True)
if hold:
    sys.stdin.read()
"""
# A parent that runs one child to its end (reaped: its time moves to the parent's children_* fields)
# and keeps one alive, passing on what each said.
PARENT = """
import subprocess, sys
child = sys.argv[1]
done = subprocess.run([sys.executable, "-c", child, "0.3", "0"], capture_output=True, text=True, check=True)
print(done.stdout.strip(), flush=True)
live = subprocess.Popen([sys.executable, "-c", child, "0.3", "200"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
print(live.stdout.readline().strip(), flush=True)
print("ready", flush=True)
sys.stdin.read()
live.stdin.close()
live.wait()
"""


def test_tree_accounting_counts_exited_and_live_children() -> None:
    """The idle-CPU and RSS rows measure a tool with everything it started: lazydocker's
    short-lived `docker compose` calls and its long-lived helpers alike."""
    proc = subprocess.Popen([sys.executable, "-c", PARENT, CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True)
    try:
        assert proc.stdout is not None and proc.stdin is not None
        said = [proc.stdout.readline().strip() for _ in range(3)]
        assert said[2] == "ready", said
        exited_cpu, live_cpu = (float(line.split()[1]) for line in said[:2])
        root = psutil.Process(proc.pid)
        own = root.cpu_times()
        assert own.user + own.system < 0.25  # the parent itself did next to nothing
        tick = 0.05  # /proc counts in clock ticks, the children's own getrusage in microseconds
        assert tree_cpu_seconds(root) >= exited_cpu + live_cpu - tick
        assert root.memory_info().rss < 100 << 20
        assert tree_rss_bytes(root) >= 200 << 20  # the live child's 200 MB
    finally:
        proc.stdin.close()
        proc.wait(30)


def test_populated_table_is_read_from_lazydockers_own_screen(module_demo_stack) -> None:
    """lazydocker's screen captured from lazydocker itself on the demo stack, not typed by hand."""
    services = ["vscode", "mcp-server", "backend"]
    ready = rows_populated(services)
    with lazydocker().terminal(module_demo_stack.dir, project=module_demo_stack.name, width=160,
                               height=40) as term:
        _, screen = term.wait_for(ready, 60, "lazydocker's populated services list")
    for service in services:  # without any one of the rows, the table is not populated yet
        assert not ready("\n".join(ln for ln in screen.splitlines()
                                   if not re.search(rf"(?<![\w-]){re.escape(service)}(?![\w-])", ln))), service


def test_populated_table_is_read_from_either_tool() -> None:
    ready = rows_populated(["vscode", "mcp-server", "backend"])
    assert ready(STACKTUI_SCREEN)
    half = "\n".join(ln for ln in STACKTUI_SCREEN.splitlines() if "backend" not in ln)
    assert not ready(half)
    placeholder = STACKTUI_SCREEN.replace("running", "…")
    assert not ready(placeholder)
    # A service whose name is part of another's is not mistaken for it.
    assert not rows_populated(["server"])(STACKTUI_SCREEN)


@pytest.mark.slow  # starts the bare reference app in a terminal: seconds
def test_bare_app_reference_is_read_at_a_screen_with_all_its_rows(tmp_path: Path) -> None:
    """The start-up floor is measured as stacktui is (tmux, the same "populated" test); the screen
    that satisfies it shows the bare app's whole table: 4 rows, each running."""
    services = ["vscode", "mcp-server", "backend"]
    tool = bare_table(services)
    assert tool.argv[1:3] == ["-m", "bench.bare_table"]
    with tool.terminal(tmp_path, width=80, height=24) as term:
        _, screen = term.wait_for(rows_populated(services), 60, "the bare app's table")
        proc = term.process()
        assert proc.is_running() and not term.dead()  # a drawn app, not the last words of one that exited
    rows = [ln for ln in screen.splitlines() if "running" in ln]
    assert len(rows) == ROWS == 4, screen
    for name in [*services, "extra1"]:
        assert sum(bool(re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", ln)) for ln in rows) == 1, name
    assert rows_populated([*services, "extra1"], need=4)(screen)


def test_results_block_is_replaced_and_prose_kept(tmp_path: Path) -> None:
    doc = tmp_path / "benchmarks.md"
    doc.write_text(f"# Benchmarks\n\nprose before\n\n{START}\nold table\n{END}\n\nprose after\n")
    rows = [Row("idle CPU", 0.1, "%", "lazydocker", 5.0, "< 1%", True, "a | note")]
    write_results(doc, rows, "- machine: test", "make bench", [])
    text = doc.read_text()
    assert "old table" not in text and "prose before" in text and "prose after" in text
    assert "| idle CPU | 0.1 % | lazydocker | 5 % | 0.020 | < 1% | yes |" in text
    assert "- idle CPU: a | note" in text and text.count(START) == 1


def test_unmeasured_and_stand_in_rows_are_not_judged() -> None:
    rows = [Row("flood [stand-in pane]", 12.0, "ms", "quiet", 4.0, "< 50 ms", None, "stand-in"),
            Row("reaction", None, "ms", "SDK", 3.0, "< 100 ms", False, "never changed")]
    table = format_table(rows)
    assert "n/a" in table and "NO" in table
    assert format_markdown(rows).splitlines()[2].endswith("| - |")


def test_namespace_probe_asks_what_the_backend_would_ask(module_demo_stack, engine) -> None:
    """The working-again row's second condition: `http://vscode:9001/health` from the backend's namespace."""
    backend = module_demo_stack.container(engine, "backend").id
    mcp_port = module_demo_stack.ports["DEMO_MCP_HTTP_PORT"]
    pid = container_pid(backend)
    with NamespaceProbe(pid, "vscode", 9001) as ns, NamespaceProbe(pid, "vscode", 9001, "/missing") as missing, \
            NamespaceProbe(pid, "no-such-service", 9001) as unknown:
        assert ns() and ns()  # asked again on the same helper
        assert not missing()  # httpd's 404 is no answer
        assert not unknown()  # a name the engine's DNS does not know
    # The same question from the host's own namespace finds no `vscode`: the namespace made the answer.
    assert not get_ok("vscode", 9001, "/health")
    assert host_get_ok(mcp_port) and not host_get_ok(mcp_port, "/missing")


def test_polls_add_up_to_the_windows_the_rows_report() -> None:
    up, down = True, False
    polls = [(0.00, up), (0.01, up), (0.02, down), (0.03, down), (0.04, up), (0.05, down), (0.09, up), (0.10, up)]
    assert back_at(polls) == 0.09  # the first answer after the last miss
    assert longest_gap(polls) == (0.09 - 0.04, 0.04, 0.09)  # between answered polls, the longest
    assert back_at([(0.0, up), (0.1, up)]) is None  # never went down: nothing to measure
    assert back_at([(0.0, up), (0.1, down)]) is None  # never came back
    assert longest_gap([(0.0, up), (0.1, up)])[0] == 0.0


def test_p99_of_a_hundred_presses_is_the_slowest_but_one() -> None:
    samples = [float(i) for i in range(1, 101)]  # 1..100 ms
    assert percentile(samples, 99) == 99.0 and percentile(samples, 95) == 95.0
    assert percentile([5.0, 500.0], 99) == 500.0  # few presses: the slowest counts


def test_backlog_breakdown_times_the_services_first_and_marked_lines() -> None:
    """The backlog row's note says when the followed service's first line and its last line were stored."""
    from types import SimpleNamespace

    from bench.headless import _watch_store
    from stacktui.core.engine.loglines import LogLine
    from stacktui.core.live.store import LogStore

    app = SimpleNamespace(store=LogStore())
    seen = _watch_store(app, "flood", "flood 00000003")
    app.store.append("other", [LogLine("other", 1, "flood 00000003")])  # another service: not counted
    assert seen == {"first": None, "last": None}
    app.store.append("flood", [LogLine("flood", 2, "flood 00000001"), LogLine("flood", 3, "flood 00000002")])
    assert seen["first"] is not None and seen["last"] is None
    app.store.append("flood", [LogLine("flood", 4, "flood 00000003")])
    assert seen["last"] is not None and seen["last"] >= seen["first"]
    assert [ln.text for ln in app.store.lines("flood")][-1] == "flood 00000003"  # the lines still reach the store


def test_the_big_table_row_waits_for_every_row_and_sees_each_key_move_the_cursor(tmp_path: Path, engine) -> None:
    """bench_bigtable's child on a small file: start-up counts until all rows are in the table, and a
    press counts only once a frame shows the cursor moved (none missed on a quiet app)."""
    import json as jsonlib

    from bench.bigfile import big_compose

    (tmp_path / "compose.yaml").write_text(big_compose(40, name=f"stkbt{os.getpid()}"))
    done = subprocess.run([sys.executable, "-m", "bench.headless_bigtable", "40", "4"], cwd=tmp_path,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)},
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-1500:]
    got = jsonlib.loads(done.stdout.strip().splitlines()[-1])
    assert got["rows"] == 40 and got["startup"] > 0
    for kind in ("step", "page"):
        assert (len(got[kind]["samples"]), got[kind]["missed"]) == (4, 0), kind


def test_backlog_row_judges_every_run_and_its_note_gives_each_runs_stages(monkeypatch) -> None:
    """The backlog row: each app against the `docker logs` run right before it; met only when every
    run is at least 1.0x; the note gives each run's first/last line stored and on screen, and the
    app's own start, which the row does not count."""
    from pathlib import Path as P

    import bench.bench_ingest as ingest

    refs = iter([2.0, 2.0, 2.0])
    runs = iter([{"seconds": 1.6, "first_stored": 0.05, "last_stored": 1.55, "started": 0.4},
                 {"seconds": 2.5, "first_stored": 0.08, "last_stored": 2.4, "started": 0.5},
                 {"seconds": 1.8, "first_stored": 0.04, "last_stored": 1.7, "started": 0.45}])
    monkeypatch.setattr(ingest, "_docker_logs_once", lambda cid: next(refs))
    monkeypatch.setattr(ingest, "run_child", lambda *a, **k: {**next(runs), "kind": "app", "rss_before": 0,
                                                             "rss_after": 20e6})
    row = ingest._backlog_pane_row(200_000, "flood 00200000", P("."), "cid")
    assert row.value == 200_000 / 1.8 and row.reference == 200_000 / 2.0
    assert row.met is False  # 2.0 / 2.5 = 0.8 in the second run
    assert "per-run ratios 1.25, 0.80, 1.11; 2 of 3 >= 1.0" in row.note
    assert "0.05/1.55/1.60 vs 2.00, 0.08/2.40/2.50 vs 2.00, 0.04/1.70/1.80 vs 2.00" in row.note
    assert "process start to that table 0.45 s, not counted" in row.note


def test_an_early_done_needs_a_failed_poll_sent_after_the_exit() -> None:
    """The working-again row's second count: a lie is proven only by a poll asked after stacktui's exit."""
    from bench.bench_working import judge_exit

    down, up = (False, True), (True, True)
    polls = [(0.00, True), (0.02, False), (0.04, False), (0.06, True), (0.08, True)]
    answers = [up, down, down, up, up]
    # The exit after the stack answered again: in time.
    assert judge_exit(polls, answers, 0.07) == (False, False, "")
    # The exit between the last failed poll and the first answered one: not proven either way.
    assert judge_exit(polls, answers, 0.05) == (False, True, "")
    # The exit before a poll that still failed: early, and the note says which view failed and when.
    early, within, said = judge_exit(polls, answers, 0.03)
    assert (early, within) == (True, False)
    assert said == "host port failing 10-10 ms after the exit (1 polls)"
