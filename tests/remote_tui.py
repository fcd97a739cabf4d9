"""The real app on an engine reached over TCP+TLS or ssh:// (the SDK's paths, not the raw socket):
the log pane fills and a stop/start made through the SDK shows in the table (tests/test_{tls,ssh}_engine.py)."""
from __future__ import annotations

import time
from typing import Any

from stacktui.ui.app import StackApp
from tests.waiting import until_app as until


async def app_follows_a_remote_engine(project: Any, engine: Any, target: Any) -> None:
    assert not engine.is_local()  # no raw-socket fast paths: the SDK, as a remote user has it
    app = StackApp(project, engine, target=target, probe_interval=None)
    async with app.run_test(size=(120, 40)) as pilot:
        table, view = app.table, app.pane.log_view
        await until(pilot, lambda: table.status_of("mcp-server") and table.cell_text("mcp-server", "state")
                    == "running", what="mcp-server running in the table")
        assert app.pane.service == "mcp-server"
        await until(pilot, lambda: view.lines, what="mcp-server's log history in the pane")
        container = next(c for c in engine.project_containers(project.name) if c.service == "mcp-server")

        engine.api.stop(container.id, timeout=1)
        await until(pilot, lambda: table.cell_text("mcp-server", "state").startswith("exited"),
                    what="the stop, through the SDK, in the table")
        await until(pilot, lambda: any("container exited" in t for t in view.lines), what="the exit marker in the pane")
        started = time.time_ns()
        engine.api.start(container.id)
        await until(pilot, lambda: table.cell_text("mcp-server", "state") == "running",
                    what="the start, through the SDK, in the table")

        def fresh_line_shown() -> bool:
            fresh = {line.text for line in app.store.lines("mcp-server") if line.key > started}
            return any(t in fresh for t in view.lines)

        await until(pilot, fresh_line_shown, what="a line logged after the start, in the pane")
        app.stop_core()
