"""Screenshots of the app from fixed data (no engine): main screen, findings, plan and diff modals.

Update after an intended change with `pytest tests/test_ui_snapshots.py --snapshot-update`
and look at the new SVGs under tests/__snapshots__/ before committing them.

The SVGs are Textual's drawing of the screen, and another Textual release may draw the same
screen into a different SVG (rects merged differently, colour classes renumbered): a run on a
Textual other than TAKEN_WITH fails first on that, so a snapshot difference is never read as
the app's. Re-take them on the new release, compare the drawing cell by cell with the old one,
and set TAKEN_WITH.
"""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

from stacktui.core.engine.loglines import EVENT, STDERR, LogLine
from stacktui.core.live.store import LogStore
from stacktui.core.compose.model import Project, ServiceSpec
from stacktui.core.health.status import ServiceStatus
from stacktui.core.live.watcher import Snapshot
from stacktui.ui.operations import FindingView, Outcome, ProgressEvent, StepView
from stacktui.core.resources.figures import Figures
from stacktui.core.settings import Settings
from stacktui.ui.app import StackApp

TAKEN_WITH = "8.2.8"  # the Textual these SVGs were drawn by
NOW = datetime(2025, 5, 1, 12, 0, 0, tzinfo=timezone.utc)
BASE_NS = int(datetime(2025, 5, 1, 11, 59, 0, tzinfo=timezone.utc).timestamp()) * 1_000_000_000


def demo_project() -> Project:
    return Project(
        name="demo", working_dir=Path("/srv/demo"), files=[Path("/srv/demo/compose.yaml")],
        services={
            "vscode": ServiceSpec("vscode", ipc="shareable", healthcheck={"test": ["CMD", "true"]}),
            "mcp-server": ServiceSpec("mcp-server", network_mode="service:vscode", ipc="service:vscode",
                                      healthcheck={"test": ["CMD", "true"]}),
            "backend": ServiceSpec("backend", healthcheck={"test": ["CMD", "true"]}),
        })


def rows(stale: bool = False) -> list[ServiceStatus]:
    vscode_started = NOW - timedelta(minutes=42, seconds=5)
    return [
        ServiceStatus("vscode", "running", "healthy", container_id="c1", started_at=vscode_started,
                      ports=["127.0.0.1:18080->8080/tcp", "127.0.0.1:19001->9001/tcp", "127.0.0.1:19002->9002/tcp"],
                      restart_count=1 if stale else 0),
        ServiceStatus("mcp-server", "running", "stale" if stale else "healthy", container_id="c2",
                      started_at=NOW - timedelta(hours=3, minutes=7), namespace_owner="vscode", stale=stale,
                      stale_reason="vscode restarted at 11:17:55 after mcp-server joined its network namespace"
                      if stale else None),
        ServiceStatus("backend", "exited (1)", "down", container_id="c3", exit_code=1, restart_count=4),
    ]


def log_lines() -> list[LogLine]:
    out = []
    for i in range(1, 30):
        out.append(LogLine("mcp-server", BASE_NS + i * 10**9, f"mcp-server: tool call {i} handled"))
        out.append(LogLine("vscode", BASE_NS + i * 10**9 + 5, f"vscode: editor heartbeat {i}"))
    out.append(LogLine("mcp-server", BASE_NS + 31 * 10**9, "\u2500\u2500 container restarted \u2500\u2500", EVENT))
    out.append(LogLine("mcp-server", BASE_NS + 32 * 10**9, "mcp-server: cannot listen on 9001", STDERR))
    return out


MIB = 1024 * 1024
FIGURES = {
    "vscode": Figures("vscode", "c1", 3.42, 182 * MIB, 2048 * MIB, 48_200_000, 9_100_000),
    "mcp-server": Figures("mcp-server", "c2", 12.5, 61 * MIB, 23 * 1024 * MIB, None, None, "vscode"),
}


def fixed_app(stale: bool = False, findings: list[FindingView] | None = None, theme: str = "textual-dark") -> StackApp:
    store = LogStore()
    for line in log_lines():
        store.append(line.service, [line])
    app = StackApp(demo_project(), None, store=store, live=False, clock=lambda: NOW,
                   engine_label="unix:///var/run/docker.sock", settings=Settings(theme=theme))
    app.engine_version = "27.3.1"
    app._fixed = (stale, findings or [])  # drawn once mounted, see ready()
    return app


async def ready(pilot) -> None:
    app = pilot.app
    stale, findings = app._fixed
    app.table.figures_on = True
    app.table.show_figures(FIGURES)
    app.show_snapshot(Snapshot(rows(stale), [], at=0.0))
    app.show_findings(findings, at=NOW)
    app.draw_topbar()
    await pilot.pause()


FINDINGS = [
    FindingView("error", "stale", "mcp-server",
                "joined network namespace of container 1a2b3c4d5e6f, but vscode is now 9f8e7d6c5b4a",
                hint="restart it after its namespace owner", fix="restart:mcp-server"),
    FindingView("error", "port", "mcp-server", "port 9001 is also published by backend on 127.0.0.1:19001",
                where="compose.yaml:41"),
    FindingView("warning", "exited", "backend", "container exited (1)", fix="restart:backend"),
]


def test_main_screen_at_80x24(snap_compare):
    assert snap_compare(fixed_app(), terminal_size=(80, 24), run_before=ready)


def test_main_screen_with_resource_figures_dark(snap_compare):
    assert snap_compare(fixed_app(), terminal_size=(150, 30), run_before=ready)


def test_main_screen_with_resource_figures_light(snap_compare):
    """The light theme from config.toml: health words and figures in shades that read on white."""
    assert snap_compare(fixed_app(theme="textual-light"), terminal_size=(150, 30), run_before=ready)


def test_findings_panel_with_a_stale_namespace(snap_compare):
    async def focus_findings(pilot) -> None:
        await ready(pilot)
        pilot.app.query_one("#findings-list").focus()
        await pilot.pause()

    assert snap_compare(fixed_app(stale=True, findings=FINDINGS), terminal_size=(110, 30), run_before=focus_findings)


PLAN_STEPS = [StepView("restart vscode", "then waits for: vscode healthy"),
              StepView("restart mcp-server", "then waits for: mcp-server healthy, probe http://vscode:9001/health"),
              StepView("restart backend")]


def scripted_plan(emit, cancel: threading.Event) -> Outcome:
    emit(ProgressEvent("step_started", 0, "vscode", "restarting"))
    emit(ProgressEvent("gate_waiting", 0, "vscode", "healthcheck: starting"))
    emit(ProgressEvent("gate_passed", 0, "vscode", "healthy after 1.2s"))
    emit(ProgressEvent("step_done", 0, "vscode", "done in 1.6s"))
    emit(ProgressEvent("step_started", 1, "mcp-server", "restarting"))
    emit(ProgressEvent("step_failed", 1, "mcp-server", "probe http://vscode:9001/health failed: connection refused"))
    return Outcome(False, "restart failed at restart mcp-server: gate timed out after 60s",
                   ["last healthcheck output: wget: can't connect to remote host", "not run: restart backend"])


def test_plan_modal_after_a_failed_step(snap_compare):
    async def run_plan(pilot) -> None:
        from stacktui.ui.modals import PlanModal

        await ready(pilot)
        await pilot.app.push_screen(PlanModal("Restart vscode", PLAN_STEPS, scripted_plan))
        await pilot.press("enter")  # Run is focused
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()

    assert snap_compare(fixed_app(), terminal_size=(100, 30), run_before=run_plan)


DIFF = """\
--- compose.yaml
+++ compose.yaml (mcp-server in its own namespaces)
@@ -8,9 +8,7 @@
     ports:
       - "127.0.0.1:18080:8080"   # VSCode
-      - "127.0.0.1:19001:9001" # MCP HTTP (shared namespace)
-      - "127.0.0.1:19002:9002" # MCP WebSocket (shared namespace)
@@ -38,8 +36,9 @@
   mcp-server:
-    network_mode: "service:vscode"
-    ipc: "service:vscode"
+    ports:
+      - "127.0.0.1:19001:9001"
+      - "127.0.0.1:19002:9002"
@@ -60,7 +61,7 @@
     environment:
-      - MCP_SERVER_URL=http://vscode:9001/health
+      - MCP_SERVER_URL=http://mcp-server:9001/health
"""


def test_diff_modal_for_a_rollback_to_separate_namespaces(snap_compare):
    async def show_diff(pilot) -> None:
        from stacktui.ui.modals import DiffModal

        await ready(pilot)
        await pilot.app.push_screen(DiffModal(
            "Give mcp-server its own namespaces", DIFF,
            summary="compose.yaml: mcp-server leaves vscode's network and IPC namespaces; its ports move with it\n"
                    "services recreated: mcp-server, backend"))
        await pilot.pause()

    assert snap_compare(fixed_app(), terminal_size=(100, 34), run_before=show_diff)


def test_the_snapshots_were_taken_with_the_installed_textual():
    from importlib.metadata import version

    installed = version("textual")
    assert installed == TAKEN_WITH, (
        f"the snapshots were drawn by Textual {TAKEN_WITH}, this is {installed}: re-take them "
        "(--snapshot-update), check every changed SVG, and set TAKEN_WITH")
