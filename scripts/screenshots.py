"""The README's pictures, saved by Textual itself (`App.save_screenshot`, SVG) from the demo stack on
the real engine, so they show what the code draws today. `make screenshots` runs this on the engine
`make test` uses and writes docs/screenshots/.

1. main-stale.svg     a raw `docker restart` of vscode strands mcp-server: its STALE row and finding
2. restart-plan.svg   `r` on vscode: the ordered plan, its first step waiting on its gates
3. layout-diff.svg    `b` on mcp-server: the diff of the compose file before anything is written
4. projects.svg       the projects screen, after a raw restart of compose/chain's gateway strands the
                      two services chained to it (only the projects this script brought up are
                      listed: a shared engine holds other people's too)
"""
from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from stacktui.core.compose.cli import compose_command  # noqa: E402
from stacktui.core.compose.discovery import resolve_target  # noqa: E402
from stacktui.core.engine.client import PROJECT_LABEL, Engine  # noqa: E402
from stacktui.core.engine.endpoint import resolve  # noqa: E402
from stacktui.core.loader import load_project  # noqa: E402

SIZE = (150, 36)
OUT = ROOT / "docs" / "screenshots"
# The demo's own ports when free: the pictures then show what `make demo` shows.
PORTS = {"demo": {"DEMO_VSCODE_PORT": 18080, "DEMO_MCP_HTTP_PORT": 19001, "DEMO_MCP_WS_PORT": 19002},
         "chain": {"CHAIN_GATEWAY_PORT": 17001, "CHAIN_API_PORT": 17002, "CHAIN_WORKER_PORT": 17003}}


def free(port: int) -> int:
    """The port if nothing holds it on 127.0.0.1, else one the kernel picks."""
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Stack:
    """A copy of compose/NAME in a temporary folder, under the project name NAME."""

    def __init__(self, base: Path, name: str) -> None:
        self.name = name
        self.dir = base / name
        shutil.copytree(ROOT / "compose" / name, self.dir)
        env = {"COMPOSE_PROJECT_NAME": name, **{k: str(free(v)) for k, v in PORTS[name].items()}}
        if os.environ.get("STACKTUI_DEMO_IMAGE"):
            env["STACKTUI_DEMO_IMAGE"] = os.environ["STACKTUI_DEMO_IMAGE"]
        (self.dir / ".env").write_text("".join(f"{k}={v}\n" for k, v in env.items()))
        self.file = self.dir / "compose.yaml"

    def compose(self, *args: str) -> None:
        subprocess.run([*compose_command(), "-f", str(self.file), *args], cwd=self.dir, check=True,
                       capture_output=True, text=True, timeout=180)

    def down(self) -> None:
        try:
            self.compose("down", "-v", "-t", "1", "--remove-orphans")
        except subprocess.CalledProcessError as exc:
            print(f"screenshots: {self.name} down failed: {exc.stderr}", file=sys.stderr)


class OursOnly(Engine):
    """The engine, listing only the given projects' containers (for the projects screen)."""

    shown: frozenset[str] = frozenset()

    def containers(self, *, all: bool = True, filters: dict[str, list[str]] | None = None) -> list[dict[str, Any]]:
        return [c for c in super().containers(all=all, filters=filters)
                if (c.get("Labels") or {}).get(PROJECT_LABEL) in self.shown]


async def until(pilot: Any, predicate: Callable[[], Any], what: str, timeout: float = 90) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise SystemExit(f"screenshots: timed out after {timeout:g} s waiting for {what}")
        await pilot.pause(0.05)


async def shoot(app: Any, pilot: Any, name: str) -> None:
    # The last change drawn, the footer's keys included (they follow the focus a refresh later).
    await pilot.pause(1.0)
    await pilot.pause()
    app.save_screenshot(f"{name}.svg", str(OUT))
    print(f"screenshots: {OUT / name}.svg")


async def main_screens(demo: Stack, engine: Engine) -> None:
    from stacktui.ui.app import StackApp
    from stacktui.ui.modals import DiffModal, PlanModal

    target = resolve_target([str(demo.file)], cwd=demo.dir)
    app = StackApp(load_project(target), engine, target=target, reload=lambda: load_project(target),
                   probe_interval=1.0, engine_label=resolve().label)
    try:
        async with app.run_test(size=SIZE) as pilot:
            table, panel = app.table, app.findings_panel
            await until(pilot, lambda: all(table.status_of(s) and table.cell_text(s, "health") == "\u2714 healthy"
                                           for s in ("vscode", "mcp-server", "backend")), "the demo healthy")
            await until(pilot, lambda: app.store.count("mcp-server") >= 3, "mcp-server's first log lines")
            owner = next(c for c in engine.project_containers(demo.name) if c.service == "vscode")
            engine.restart(owner.id, timeout=1)  # what `docker restart vscode` does: mcp-server is stranded
            await until(pilot, lambda: table.cell_text("mcp-server", "badge").strip() == "STALE", "the STALE badge")
            stale = await until(pilot, lambda: next((f for f in panel.findings if f.service == "mcp-server"
                                                     and "stale" in f.kind), None), "the stale finding")
            options = app.query_one("#findings-list")
            options.focus()
            options.highlighted = panel.findings.index(stale)
            await shoot(app, pilot, "main-stale")

            table.focus()
            table.move_cursor(row=list(app.project.services).index("vscode"))
            await pilot.press("r")
            plan = await until(pilot, lambda: isinstance(app.screen, PlanModal) and app.screen, "the restart plan")
            await pilot.press("enter")  # Restart has the focus
            await until(pilot, lambda: plan.state == "running" and {"running", "waiting"} & set(plan.step_state),
                        "a step under way", timeout=30)
            await shoot(app, pilot, "restart-plan")
            await until(pilot, lambda: plan.outcome is not None, "the plan's outcome")
            if not plan.outcome.ok:
                raise SystemExit(f"screenshots: the restart failed: {plan.outcome}")
            await pilot.press("enter")
            await until(pilot, lambda: all(table.cell_text(s, "health") == "\u2714 healthy" and
                                           table.cell_text(s, "badge") == "" for s in ("vscode", "mcp-server", "backend")),
                        "the demo healthy again")

            table.move_cursor(row=list(app.project.services).index("mcp-server"))
            await pilot.press("b")
            await until(pilot, lambda: isinstance(app.screen, DiffModal), "the layout diff")
            await shoot(app, pilot, "layout-diff")
            await pilot.press("escape")  # nothing is written
            await until(pilot, lambda: not isinstance(app.screen, DiffModal), "the diff closed")
            await pilot.press("q")
    finally:
        app.stop_core()


async def projects_screen(shown: frozenset[str], engine: Engine) -> None:
    from stacktui.ui.switch import Opening, SwitchingApp

    OursOnly.shown = shown

    def no_opening(choice: Any) -> Opening:
        raise SystemExit("screenshots: the projects screen opens nothing here")

    app = SwitchingApp([resolve()], OursOnly.connect, no_opening)
    async with app.run_test(size=(SIZE[0], 12)) as pilot:
        screen = app.projects_screen
        await until(pilot, lambda: all(screen.row_cells(name) for name in shown), "every project listed")
        # Columns: project, engine, services, running (n/m), healthy, stale, ...
        await until(pilot, lambda: all((cells := screen.row_cells(name)) and cells[4] == cells[2] for name in shown),
                    "every service of both projects healthy")
        # A raw restart of chain's gateway strands api and worker (a chain: worker joins api joins gateway).
        gateway = next(c for c in engine.project_containers("chain") if c.service == "gateway")
        engine.restart(gateway.id, timeout=1)
        await until(pilot, lambda: (cells := screen.row_cells("chain")) and cells[5] == "2", "chain's two stale")
        await shoot(app, pilot, "projects")
        await pilot.press("q")


def run() -> int:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    engine = Engine.connect(resolve())
    taken = {(c.get("Labels") or {}).get(PROJECT_LABEL) for c in engine.containers(all=True)} & set(PORTS)
    if taken:
        raise SystemExit(f"screenshots: project(s) {', '.join(sorted(taken))} already on the engine "
                         "(`make demo-down` stops the demo); the pictures need their own")
    OUT.mkdir(parents=True, exist_ok=True)
    # One fixed folder, made afresh: the findings and the diff name the compose file's path, and a
    # random one would change every picture on every run.
    base = Path(tempfile.gettempdir()) / "stacktui-screenshots"
    shutil.rmtree(base, ignore_errors=True)
    base.mkdir(mode=0o700)
    try:
        stacks = [Stack(base, name) for name in PORTS]
        try:
            for stack in stacks:
                stack.compose("up", "-d", "--wait", "--wait-timeout", "90")
            asyncio.run(main_screens(stacks[0], engine))
            asyncio.run(projects_screen(frozenset(s.name for s in stacks), engine))
        finally:
            for stack in stacks:
                stack.down()
            engine.close()
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(run())
