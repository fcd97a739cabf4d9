"""Faults as the TUI shows them: the real app (Pilot) on real engines and stacks.

Case 1: the engine stops and comes back while the app follows logs (on the fault engine).
Case 2: someone else recreates, then removes, the container whose logs are shown.
Case 3: a compose file edited on disk reloads the model; a change prepared on the old text is refused.
Case 4: bad input while the app runs is a notification, and nothing is written.
Case 6: two change requests at once, from two keypresses or from the app and a CLI: one is refused.
"""
from __future__ import annotations

import time
from pathlib import Path

from stacktui.core.compose.discovery import resolve_target
from stacktui.core.engine.loglines import EVENT
from stacktui.core.loader import load_project
from stacktui.ui.app import StackApp
from stacktui.ui.modals import DiffModal, PlanModal
from tests.conftest import Stack
from tests.waiting import click_when_drawn, on_screen, until_app
from tests.faults_support import (DATA, SLOWGATE_PORTS, fault_engine, fault_stacks, folder_state,  # noqa: F401
                                  slow_owner)


until = until_app  # this module's tests and test_faults_hostile's call it with the pilot first


def app_for(stack: Stack, engine, target=None, **kwargs) -> StackApp:
    target = target or resolve_target([str(stack.file)], cwd=stack.dir)
    return StackApp(load_project(target), engine, target=target, reload=lambda: load_project(target),
                    probe_interval=None, **kwargs)


def notes(app: StackApp) -> list[str]:
    return [f"{n.title}: {n.message}" for n in app._notifications]


async def select(pilot, app: StackApp, service: str) -> None:
    for _ in range(len(app.project.services) + 1):
        if app.table.selected_service == service:
            return
        await pilot.press("down")
    raise AssertionError(f"cannot select {service}")


async def prepare_separate(pilot, app: StackApp, service: str) -> DiffModal:
    await select(pilot, app, service)
    await pilot.press("b")
    return await until(pilot, lambda: on_screen(app, DiffModal), 20, "the diff")


async def apply_and_close(pilot, app: StackApp) -> PlanModal:
    await click_when_drawn(pilot, "#diff-apply")
    modal = await until(pilot, lambda: app.screen if on_screen(app, PlanModal) and app.screen.outcome
                        else None, 30, "the apply's outcome")
    await pilot.press("enter")  # Close
    await until(pilot, lambda: app.busy is None, 20, "the change flow to end")
    return modal


EXTRA = """
  extra:
    image: ${STACKTUI_DEMO_IMAGE:-stacktui-demo:0.1.0}
    command: ["sleep", "3600"]
"""


async def test_an_edited_compose_file_reloads_and_a_change_prepared_before_it_is_refused(module_demo_stack, engine):
    stack = module_demo_stack
    original = stack.file.read_text()
    app = app_for(stack, engine)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await until(pilot, lambda: app.table.cell_text("vscode", "state") == "running", what="the table")

            # Someone adds a service: the model reloads, the table shows it (it has no container).
            stack.file.write_text(original + EXTRA)
            await until(pilot, lambda: "extra" in app.project.services, what="the reload")
            await until(pilot, lambda: app.table.status_of("extra") is not None, what="the new row")
            assert "compose files: compose.yaml changed on disk: reloaded" in notes(app)

            # Someone breaks it: a notification names file and line; the last good model stays.
            stack.file.write_text(original + EXTRA + "  broken: yes: no\n")
            broken = await until(pilot, lambda: [n for n in notes(app) if "not reloaded" in n], what="the error")
            assert f"{stack.file}:{len((original + EXTRA).splitlines()) + 1}: invalid YAML" in broken[0]
            assert "extra" in app.project.services
            stack.file.write_text(original + EXTRA)
            await until(pilot, lambda: notes(app).count("compose files: compose.yaml changed on disk: reloaded") == 2,
                        what="the second reload")

            # A change is prepared and shown; meanwhile someone edits the file: applying it is refused.
            diff = await prepare_separate(pilot, app, "mcp-server")
            assert "-    network_mode: \"service:vscode\"" in diff.diff
            edited = original + EXTRA + "# edited by someone else\n"
            stack.file.write_text(edited)
            before = folder_state(stack.dir)
            modal = await apply_and_close(pilot, app)
            assert not modal.outcome.ok
            assert f"{stack.file} changed on disk since the change was prepared; nothing was written" in \
                   modal.outcome.summary
            assert folder_state(stack.dir) == before and not (stack.dir / ".stacktui").exists()
            assert any("changed on disk since the change was prepared" in n for n in notes(app))

            # The file is read-only: the apply says so, and writes nothing.
            stack.file.chmod(0o444)
            await prepare_separate(pilot, app, "mcp-server")
            modal = await apply_and_close(pilot, app)
            assert not modal.outcome.ok
            assert f"{stack.file} is read-only (mode 444); nothing was written" in modal.outcome.summary
            assert folder_state(stack.dir) == before
            vscode = stack.container(engine, "vscode")
            assert stack.container(engine, "mcp-server").network_mode == f"container:{vscode.id}"
            await pilot.press("q")
    finally:
        app.stop_core()
        stack.file.chmod(0o644)
        stack.file.write_text(original)


async def test_the_engine_stops_under_the_app_which_says_so_and_picks_up_again(fault_stacks, fault_engine):
    stack = fault_stacks(DATA / "talker")
    engine = fault_engine.client()
    app = app_for(stack, engine, target=stack.target())
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            table, banner = app.table, app.query_one("#banner")
            await until(pilot, lambda: table.cell_text("talker", "state") == "running", what="the table")
            await until(pilot, lambda: any(line.text.startswith("talker: line")
                                           for line in app.store.lines("talker")), what="the log")
            first_boot = next(line.text for line in app.store.lines("talker") if "boot on" in line.text)

            fault_engine.stop()
            await until(pilot, lambda: banner.display, what="the engine-gone banner")
            assert f"{fault_engine.host}: the engine does not answer" in str(banner.content)
            assert "The table shows the last known state" in str(banner.content)
            assert "disconnected" in str(app.query_one("#topbar").content)
            await pilot.press("question_mark")  # the app keeps answering keys meanwhile
            await until(pilot, lambda: type(app.screen).__name__ == "HelpScreen", what="the help")
            await pilot.press("escape")
            gone_at = time.time_ns()

            fault_engine.start()  # `restart: always`: the engine starts talker again itself
            await until(pilot, lambda: not banner.display, timeout=30, what="the banner to go")
            assert any("the engine answers again" in n for n in notes(app))
            await until(pilot, lambda: table.cell_text("talker", "state") == "running", what="running again")
            # The same container, a new boot: its lines after the outage reach the store, none twice.
            await until(pilot, lambda: [line for line in app.store.lines("talker")
                                        if line.stream != EVENT and line.key > gone_at and "line" in line.text],
                        timeout=10, what="log lines from after the outage")  # not the followers' 30 s idle look
            lines = [(line.key, line.text) for line in app.store.lines("talker") if line.stream != EVENT]
            assert len(set(lines)) == len(lines), "a line was read twice across the reconnect"
            boots = [text for _, text in lines if "boot on" in text]
            assert boots == [first_boot, first_boot], "one container, booted twice: both boots shown once"
            await pilot.press("q")
        assert app.return_code == 0
    finally:
        app.stop_core()
        engine.close()


async def test_logs_follow_a_container_someone_else_recreates_and_keep_what_a_removed_one_said(stack_factory,
                                                                                             engine):
    stack = stack_factory(str(DATA / "talker"))
    stack.up()
    app = app_for(stack, engine)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            view = app.pane.log_view
            first = stack.container(engine, "talker")
            await until(pilot, lambda: f"talker: boot on {first.id[:12]}" in view.lines, what="the first boot")

            # Someone else recreates it: the new container's lines follow the old one's, marked.
            stack.compose("up", "-d", "--force-recreate", "talker")
            second = stack.container(engine, "talker")
            assert second.id != first.id
            await until(pilot, lambda: f"talker: boot on {second.id[:12]}" in view.lines, what="the new container")
            await until(pilot, lambda: view.lines.index(f"talker: boot on {second.id[:12]}") < len(view.lines) - 1
                        and view.lines[-1].startswith("talker: line"), what="its lines after its boot")
            assert f"talker: boot on {first.id[:12]}" in view.lines, "what the old one said stays"
            assert "\u2500\u2500 container removed \u2500\u2500" in view.lines
            assert app.hub.followed() == {"talker": second.id}
            await until(pilot, lambda: app.table.cell_text("talker", "state") == "running", what="the table")

            # Someone else removes it: its lines stay, the table says it is gone, the app goes on.
            shown = len(view.lines)
            engine.api.remove_container(second.id, force=True)
            await until(pilot, lambda: app.table.status_of("talker").container_id is None, what="the table")
            await until(pilot, lambda: view.lines.count("\u2500\u2500 container removed \u2500\u2500") == 2,
                        what="the second removal marker")
            assert len(view.lines) >= shown and f"talker: boot on {second.id[:12]}" in view.lines
            await until(pilot, lambda: not app.hub.follower("talker").alive, what="its follower to end")
            await pilot.press("question_mark")
            await until(pilot, lambda: type(app.screen).__name__ == "HelpScreen", what="the help")
            await pilot.press("escape", "q")
        assert app.return_code == 0
    finally:
        app.stop_core()
