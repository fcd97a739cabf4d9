"""The everyday keys on the real engine, driven with Pilot: resource columns, the details view,
a key remapped in config.toml, the command palette, the log filter and saving it.

(`e`, the shell, needs a real terminal to hand over: tests/test_ui_everyday_tmux.py.)
"""
from __future__ import annotations

import re
from pathlib import Path

from stacktui.core.loader import load_project
from stacktui.core.settings import KEY_ACTIONS, Settings, parse_settings
from stacktui.ui.app import StackApp
from stacktui.ui.services import human_bytes
from tests.test_ui_live import target_of, until
from tests.waiting import on_screen


def live_app(stack, engine, settings: Settings) -> StackApp:
    target = target_of(stack.dir, stack.file)
    return StackApp(load_project(target), engine, target=target, probe_interval=None, settings=settings)


async def test_resource_columns_fill_in_place_and_a_joiners_network_is_shared(module_demo_stack, engine):
    app = live_app(module_demo_stack, engine, Settings(resource_refresh=0.5))
    async with app.run_test(size=(160, 40)) as pilot:
        table = app.table
        await until(pilot, lambda: table.status_of("mcp-server") and table.figures_of("vscode")
                    and table.figures_of("vscode").cpu_percent is not None, what="figures with a CPU %")
        assert table.cell_text("mcp-server", "net") == "shared with vscode"
        vscode = table.figures_of("vscode")
        assert table.cell_text("vscode", "mem") == f"{human_bytes(vscode.mem_bytes)}/{human_bytes(vscode.mem_limit_bytes)}"
        assert table.cell_text("vscode", "cpu").endswith("%")
        assert table.cell_text("vscode", "net") == f"{human_bytes(vscode.rx_bytes)} {human_bytes(vscode.tx_bytes)}"

        # Further refreshes write only figure cells, and only where they changed.
        written: list[tuple[str, str]] = []
        original = table._write_cells  # every cell write of the table goes through it

        def spy(changed):
            written.extend((service, column) for service, column, _ in changed)
            original(changed)

        table._write_cells = spy
        first = app.everyday.monitor.history.mem("vscode")
        await until(pilot, lambda: len(app.everyday.monitor.history.mem("vscode")) >= len(first) + 3, what="three refreshes")
        assert written  # three refreshes of a running stack move at least one figure
        assert {column for _, column in written} <= {"cpu", "mem", "net", "up"}
        assert len(written) < 3 * 3 * 3 + 6  # never all cells of every row: at most the three figure cells

        # d: CPU and memory of the selected service over the last minutes.
        from stacktui.ui.detail import DetailScreen

        await pilot.press("d")
        await until(pilot, lambda: on_screen(app, DetailScreen), what="the details view")
        screen = app.screen
        assert screen.service == "vscode"
        await until(pilot, lambda: len(screen.query_one("#cpu-spark").data) >= 2, what="a CPU history")
        assert str(screen.query_one("#mem-label").render()).startswith("memory ")
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, DetailScreen), what="details closed")


async def test_a_key_remapped_in_config_toml_runs_its_action(module_demo_stack, engine, tmp_path):
    from stacktui.ui.modals import HelpScreen, PlanModal

    settings = parse_settings('[keys]\nrestart = "x"\n', tmp_path / "config.toml")
    app = live_app(module_demo_stack, engine, settings)
    async with app.run_test(size=(140, 40)) as pilot:
        await until(pilot, lambda: app.table.status_of("vscode"), what="the table")
        await pilot.press("r")  # no longer restart
        await pilot.pause(0.3)
        assert not isinstance(app.screen, PlanModal)
        await pilot.press("x")
        # The screen is in front before its widgets are mounted: waited for until its keys line is there.
        await until(pilot, lambda: on_screen(app, PlanModal) and app.screen.query("#plan-keys"),
                    what="the restart plan, drawn")
        assert [s.label for s in app.screen.steps][:2] == ["restart vscode", "restart mcp-server"]
        assert "y / enter run" in str(app.screen.query_one("#plan-keys").render())
        await pilot.press("n")  # the dialog's own key: cancel, nothing restarted
        await until(pilot, lambda: not isinstance(app.screen, PlanModal), what="the plan dismissed")
        assert module_demo_stack.container(engine, "vscode").restart_count == 0
        await pilot.press("question_mark")
        await until(pilot, lambda: on_screen(app, HelpScreen), what="help")
        keys = {what: key for key, what in app.screen.keys}
        assert keys["restart the selected service and its namespace dependants, in order, with health gates"] == "x"


async def test_a_bad_config_file_is_a_notification_and_the_defaults(module_demo_stack, engine, tmp_path):
    from stacktui.core.errors import ConfigError
    from stacktui.core.settings import load_settings

    path = tmp_path / "config.toml"
    path.write_text('theme = "textual-light"\n[keys]\nrestart = "s"\n')
    try:
        load_settings(path)
    except ConfigError as exc:
        problem = exc
    target = target_of(module_demo_stack.dir, module_demo_stack.file)
    app = StackApp(load_project(target), engine, target=target, probe_interval=None, settings_problem=problem)
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.pause()
        shown = [n.message for n in app._notifications]
        assert shown == [f"{path}:3: s is bound to both restart and share (give share another key too, or choose "
                         "another key for restart); using the defaults"]
        assert app.theme == "textual-dark"


async def test_the_palette_lists_every_action_with_its_current_key(module_demo_stack, engine, tmp_path):
    from textual.command import CommandList, CommandPalette

    settings = parse_settings('[keys]\nrestart = "x"\nsearch = "?"\nhelp = "f1"\n', tmp_path / "config.toml")
    app = live_app(module_demo_stack, engine, settings)
    async with app.run_test(size=(140, 60)) as pilot:
        await pilot.press("ctrl+p")
        await until(pilot, lambda: on_screen(app, CommandPalette), what="the palette")
        results = app.screen.query_one(CommandList)
        await until(pilot, lambda: results.option_count >= len(KEY_ACTIONS), what="the palette's commands")
        titles = [str(results.get_option_at_index(i).prompt).split("\n")[0] for i in range(results.option_count)]
        for action in KEY_ACTIONS:
            assert any(t.startswith(action.description + " (") for t in titles), (action.id, titles)
        assert f"{KEY_ACTIONS[0].description} (x)" in titles
        assert "search the log (?)" in titles and "this help (f1)" in titles
        assert "Theme" in titles  # Textual's own: the themes


async def test_the_filter_shows_only_matching_lines_and_saving_writes_exactly_them(module_demo_stack, engine,
                                                                                   tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = live_app(module_demo_stack, engine, Settings(resource_refresh=0))
    async with app.run_test(size=(140, 40)) as pilot:
        pane = app.pane
        await until(pilot, lambda: len(pane.log_view.lines) > 12, what="a dozen log lines")
        await pilot.press("ampersand")
        await pilot.press(*"/tool call 1\\d* HANDLED$/")  # a regex, any case
        await pilot.press("enter")
        await pilot.pause()
        # mcp-server keeps logging from a reader thread: what is stored now is flushed to the pane
        # next, so the pane holds at least it (and perhaps a line stored after it).
        matches = re.compile(r"tool call 1\d* handled$", re.IGNORECASE).search
        stored = [line.text for line in app.store.lines("mcp-server")]
        app.flush_logs_now()
        shown = list(pane.log_view.lines)
        expected = [t for t in stored if matches(t)]
        assert expected and shown[:len(expected)] == expected and all(matches(t) for t in shown)
        assert "\u29e9 only /tool call 1\\d* HANDLED$/" in str(pane.query_one("#log-title").render())
        before = list(pane.log_view.lines)
        await pilot.press("ctrl+s")
        await pilot.pause()
        saved = list(Path(tmp_path).glob("stacktui-mcp-server-filtered-*.log"))
        assert len(saved) == 1
        # Exactly the lines shown when it was saved: mcp-server keeps logging, so the pane may hold a
        # matching line more by now, after them.
        written = saved[0].read_text().splitlines()
        assert written[:len(before)] == before and written == list(pane.log_view.lines)[:len(written)]
        assert any(str(saved[0]) in n.message for n in app._notifications)
        # An empty filter shows everything again.
        await pilot.press("ampersand", "ctrl+u", "enter")
        await pilot.pause()
        stored = [line.text for line in app.store.lines("mcp-server")]
        app.flush_logs_now()
        assert list(pane.log_view.lines)[:len(stored)] == stored


async def test_log_since_loads_only_the_history_from_then_on(module_demo_stack, engine):
    import time

    # mcp-server logs a line a second: wait until it has logged for longer than the window.
    cid = module_demo_stack.container(engine, "mcp-server").id
    deadline = time.monotonic() + 30
    while len(engine.logs_tail(cid, lines=100)) < 10 and time.monotonic() < deadline:
        time.sleep(0.5)
    target = target_of(module_demo_stack.dir, module_demo_stack.file)
    started = time.time_ns()
    app = StackApp(load_project(target), engine, target=target, probe_interval=None, log_since="4s",
                   settings=Settings(resource_refresh=0))
    async with app.run_test(size=(140, 40)) as pilot:
        await until(pilot, lambda: app.store.lines("mcp-server"), what="mcp-server's history")
        await pilot.pause(0.5)
        lines = [line for line in app.store.lines("mcp-server") if not line.is_event]
        assert lines and min(line.key for line in lines) >= started - 4_500_000_000
    assert len(engine.logs_tail(cid, lines=100)) >= len(lines) + 4  # there was more history to load


async def test_a_selection_in_the_log_is_copied_with_ctrl_c():
    """Textual's own selection (mouse drag) and copy (ctrl+c; OSC 52 to a terminal that allows it)."""
    from textual.geometry import Offset
    from textual.selection import Selection

    from tests.test_ui_snapshots import fixed_app, ready

    app = fixed_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        view = app.pane.log_view
        assert view.lines[1:3] == ["mcp-server: tool call 2 handled", "mcp-server: tool call 3 handled"]
        app.screen.selections = {view: Selection(Offset(0, 1), Offset(15, 2))}
        await pilot.pause()
        await pilot.press("ctrl+c")
        await pilot.pause()
        assert app.clipboard == "mcp-server: tool call 2 handled\nmcp-server: too"
