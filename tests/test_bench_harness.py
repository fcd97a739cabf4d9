"""The benchmark machinery reads what it claims to read. Nothing here times anything.

- the raw reader turns the engine's multiplexed frames into exactly the lines a real container wrote;
- the tmux driver reads a real program's screen, sends it keys, and leaves nothing running;
- "populated table" recognises both tools' screens and not a half-drawn one;
- the results block of docs/benchmarks.md is replaced in place, the prose around it kept;
- the stand-in rows are never judged against targets.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psutil

from bench.__main__ import END, START, write_results
from bench.harness import Row, format_markdown, format_table
from bench.rawlogs import _frames, count_lines, read_batches
from bench.tmuxdrive import Terminal, tree_cpu_seconds
from bench.tools import rows_populated

LAZYDOCKER_SCREEN = """\
╭─[1]─Project────────────╮╭─Logs - Stats - Container Env──────╮
│stkbidle390eb2          ││backend: MCP reachable              │
╰────────────────────────╯│                                    │
╭─[2]─Services───────────╮│                                    │
│running (healthy) backend     ││                              │
│running (healthy) mcp-server  ││                              │
│running (healthy) vscode      ││                              │
"""

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
        assert tree_cpu_seconds(proc) >= 0.0
        term.send("hello", "Enter")
        _, screen = term.wait_for(lambda s: "got hello" in s, 20, "the echo of the key")
        assert "got hello" in screen
    assert not proc.is_running() or proc.status() == psutil.STATUS_ZOMBIE
    alive = subprocess.run(["tmux", "-L", term.socket, "has-session"], capture_output=True)
    assert alive.returncode != 0
    assert not (Path("/tmp") / f"tmux-{os.getuid()}" / term.socket).exists()


def test_populated_table_is_read_from_either_tool() -> None:
    ready = rows_populated(["vscode", "mcp-server", "backend"])
    assert ready(LAZYDOCKER_SCREEN)
    assert ready(STACKTUI_SCREEN)
    half = "\n".join(ln for ln in STACKTUI_SCREEN.splitlines() if "backend" not in ln)
    assert not ready(half)
    placeholder = STACKTUI_SCREEN.replace("running", "…")
    assert not ready(placeholder)
    # A service whose name is part of another's is not mistaken for it.
    assert not rows_populated(["server"])(STACKTUI_SCREEN)


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
