"""A read-only attach (`stacktui -p NAME` where there is no compose file) refuses r, b and u in the
TUI, saying why, and changes nothing (issue 17, gap 9). The app is built as `stacktui tui` builds it."""
from __future__ import annotations

import os

from stacktui.cli import build_parser
from stacktui.commands import tui
from stacktui.commands.context import Context
from stacktui.ui.modals import DiffModal, PlanModal
from tests.waiting import until_app


async def test_attached_read_only_the_change_keys_are_refused_with_the_reason(module_demo_stack, engine, tmp_path,
                                                                            monkeypatch):
    stack = module_demo_stack
    empty = tmp_path / "nowhere"
    empty.mkdir()
    monkeypatch.chdir(empty)
    for var in [v for v in os.environ if v.startswith("COMPOSE_")]:
        monkeypatch.delenv(var)
    # `-p` uses the files the project's labels name when they are readable here: hide them, so the
    # attach is read-only (the case this test is about), and put them back whatever happens.
    hidden = stack.file.with_name(stack.file.name + ".hidden")
    stack.file.rename(hidden)
    args = build_parser().parse_args(["-p", stack.name, "tui"])
    before = {c.service: (c.id, c.started_at) for c in engine.project_containers(stack.name)}
    app = None
    try:
        app = tui.build_app(Context.from_args(args), args)
        async with app.run_test(size=(140, 40)) as pilot:
            await until_app(pilot, lambda: app.project is not None and app.table.status_of("mcp-server"), 60,
                            "the attached project's rows")
            assert app.project.read_only
            assert str(stack.file) in (app.project.read_only_reason or ""), app.project.read_only_reason
            assert "(attached, read-only)" in str(app.query_one("#topbar").content)
            reason = (f"project {stack.name} was attached from the engine without its compose files: {{}} needs "
                      "them (run stacktui in the project's folder, or pass -f FILE)")
            app.table.move_cursor(row=list(app.project.services).index("mcp-server"))
            await pilot.pause()
            for key, what in (("r", "a restart"), ("b", "a layout change"), ("u", "a layout change")):
                shown = len(app._notifications)
                await pilot.press(key)
                note = await until_app(pilot, lambda: len(app._notifications) > shown and list(app._notifications)[-1],
                                       10, f"the reason {key} is refused")
                assert note.message == reason.format(what), (key, note.message)
                assert not isinstance(app.screen, (PlanModal, DiffModal)), key
                assert app.busy is None
            await pilot.press("q")
    finally:
        if app is not None:
            app.stop_core()
        hidden.rename(stack.file)
    assert {c.service: (c.id, c.started_at) for c in engine.project_containers(stack.name)} == before
    assert list(empty.iterdir()) == []  # no file, no history written
