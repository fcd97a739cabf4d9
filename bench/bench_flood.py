"""Log flood in the real terminal: stacktui against lazydocker in tmux, in the same run.

Stack bench/stacks/flood: alpha, beta (in alpha's network) and flood, which writes N lines of
48 bytes. Both tools start in the stack's folder with the first row selected; the bench presses
Down twice to reach flood. lazydocker shows the selected service's logs at once; stacktui opens
them with `l` (issue 7). "Last line on screen" = `flood 00N` in `tmux capture-pane`.

- backlog: flood has already written its N lines; from the key that opens its logs until the
  last line is on screen (issue 8's definition).
- live: the logs are open on an idle flood container, then the flood starts; from the engine's
  timestamp of the first line until the last line is on screen. This one makes every tool
  carry all N lines, whatever history it loads when a pane opens.
Then the resident memory of the tool's process tree (the larger of the two runs).

Targets (issue 8): at most half of lazydocker's time; under 80 MB.
"""
from __future__ import annotations

import subprocess
import sys
import time

from bench.appdriver import OPEN_LOGS_KEY, app_has_log_pane
from bench.harness import Row
from bench.stackutil import bench_stack, log_span, wait_logs_end
from bench.tmuxdrive import ScreenTimeout, Terminal, tree_rss_bytes
from bench.tools import Tool, lazydocker, rows_populated, stacktui

SERVICES = ["alpha", "beta", "flood"]
STEP = 0.5  # between navigation keys, so each lands on a settled screen


def _marker(n: int) -> str:
    return f"flood {n:08d}"


def _navigate(term: Terminal, tool: Tool) -> str:
    """Select flood; returns the key that opens its logs (sent by the caller, timed)."""
    term.wait_for(rows_populated(SERVICES), 30, f"{tool.name}'s populated table")
    time.sleep(1.0)
    term.send("Down")
    time.sleep(STEP)
    if tool.name == "lazydocker":
        return "Down"  # selecting the row is what opens its logs
    term.send("Down")
    time.sleep(STEP)
    return OPEN_LOGS_KEY


def _backlog(tool: Tool, stack, n: int, timeout: float) -> tuple[float, int]:
    with tool.terminal(stack.dir, project=stack.name) as term:
        key = _navigate(term, tool)
        t0 = term.send(key)
        t1, _ = term.wait_for(lambda s: _marker(n) in s, timeout, f"{tool.name}: last line on screen")
        return t1 - t0, tree_rss_bytes(term.process())


def _live(tool: Tool, n: int, timeout: float) -> tuple[float, int]:
    with bench_stack("flood", env={"FLOOD_LINES": str(n), "FLOOD_WAIT": "1"}) as stack:
        cid = stack.container_id("flood")
        with tool.terminal(stack.dir, project=stack.name) as term:
            key = _navigate(term, tool)
            term.send(key)
            time.sleep(1.0)
            subprocess.run(["docker", "exec", cid, "touch", "/go"], check=True, timeout=30)
            t1, _ = term.wait_for(lambda s: _marker(n) in s, timeout, f"{tool.name}: last line on screen")
            shown_at = time.time() - (time.perf_counter() - t1)
            rss = tree_rss_bytes(term.process())
        first, _ = log_span(cid)
    return shown_at - first, rss


def run(quick: bool) -> list[Row]:
    n = 50_000 if quick else 200_000
    timeout = 60.0 if quick else 180.0
    tools = [lazydocker()] + ([stacktui()] if app_has_log_pane() else [])
    times: dict[str, dict[str, float | None]] = {t.name: {"backlog": None, "live": None} for t in tools}
    rss: dict[str, int] = {}
    problems: list[str] = []
    with bench_stack("flood", env={"FLOOD_LINES": str(n)}) as stack:
        wait_logs_end(stack.container_id("flood"), _marker(n), 120)
        for tool in tools:
            try:
                secs, mem = _backlog(tool, stack, n, timeout)
                times[tool.name]["backlog"] = secs
                rss[tool.name] = max(rss.get(tool.name, 0), mem)
            except ScreenTimeout as exc:
                problems.append(f"{tool.name} backlog: {str(exc).splitlines()[0]}")
                print(f"bench_flood: {tool.name}: {exc}", file=sys.stderr)
    for tool in tools:
        try:
            secs, mem = _live(tool, n, timeout)
            times[tool.name]["live"] = secs
            rss[tool.name] = max(rss.get(tool.name, 0), mem)
        except ScreenTimeout as exc:
            problems.append(f"{tool.name} live: {str(exc).splitlines()[0]}")
            print(f"bench_flood: {tool.name}: {exc}", file=sys.stderr)

    missing = "" if app_has_log_pane() else "the app on this branch has no log pane (TUI branch): stacktui not run"
    ours = times.get("stacktui", {"backlog": None, "live": None})
    rows = []
    for variant, label in (("backlog", f"open logs of a {n // 1000}k-line backlog"),
                           ("live", f"live flood of {n // 1000}k lines")):
        v, ref = ours[variant], times["lazydocker"][variant]
        met = None if ref is None else (v is not None and v <= 0.5 * ref)
        if v is None and missing:
            met = None
        note = missing or "; ".join(p for p in problems if variant in p)
        rows.append(Row(f"log flood in tmux: {label} -> last line on screen", v, "s", "lazydocker", ref,
                        "<= 0.5x", met, note))
    v_mem = rss.get("stacktui")
    rows.append(Row(f"log flood in tmux: RSS after {n // 1000}k lines", None if v_mem is None else v_mem / 1e6, "MB",
                    "lazydocker", rss["lazydocker"] / 1e6 if "lazydocker" in rss else None, "< 80 MB",
                    None if v_mem is None else v_mem / 1e6 < 80, missing or "process tree, the larger of the two runs"))
    return rows
