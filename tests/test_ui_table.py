"""The services table: health reads without colour, cells are Text, and only changed cells are written."""
from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from rich.text import Text

from stacktui.core.live.watcher import Snapshot
from stacktui.ui.services import HEALTH_LOOK, ServicesTable, short_port, uptime
from tests.test_ui_snapshots import NOW, fixed_app, rows


def test_every_health_word_has_its_own_glyph():
    glyphs = [glyph for glyph, _ in HEALTH_LOOK.values()]
    assert len(set(glyphs)) == len(glyphs) == 6


def test_ports_and_uptime_read_short():
    assert short_port("127.0.0.1:19001->9001/tcp") == "19001\u21929001"
    assert short_port("0.0.0.0:53->53/udp") == "53\u219253/udp"
    assert uptime(None, NOW) == "-"
    assert [uptime(NOW - timedelta(seconds=s), NOW) for s in (5, 125, 7300, 200000)] == ["5s", "2m", "2h01m",
                                                                                          "2d07h"]
    assert [uptime(NOW - timedelta(seconds=s), NOW) for s in (9, 10, 19, 20, 59, 60)] == ["9s", "10s", "10s", "20s",
                                                                                          "50s", "1m"]


async def test_an_unchanged_snapshot_writes_no_cell_and_a_change_writes_only_its_cells():
    app = fixed_app()
    async with app.run_test(size=(100, 30)) as pilot:
        first = rows()
        app.show_snapshot(Snapshot(first, []))
        await pilot.pause()
        table = app.query_one(ServicesTable)
        assert all(isinstance(cell, Text) for row in range(table.row_count) for cell in table.get_row_at(row))
        before = table.updates
        app.show_snapshot(Snapshot(rows(), []))
        await pilot.pause()
        assert table.updates == before
        changed = [replace(r, health="unhealthy") if r.service == "vscode" else r for r in rows()]
        app.show_snapshot(Snapshot(changed, []))
        await pilot.pause()
        assert table.updates == before + 1
        assert table.cell_text("vscode", "health") == "\u2718 unhealthy"
        stale = rows(stale=True)
        app.show_snapshot(Snapshot(stale, []))
        await pilot.pause()
        assert table.cell_text("mcp-server", "badge").strip() == "STALE"
        assert table.cell_text("mcp-server", "health") == "\u26a0 stale"
        shown = _screen_row(app, "mcp-server")  # written in place: the screen says it too
        assert " STALE " in shown and "\u26a0 stale" in shown
        app.show_snapshot(Snapshot(rows(), []))
        await pilot.pause()
        shown = _screen_row(app, "mcp-server")
        assert "STALE" not in shown and "\u2714 healthy" in shown


def _screen_row(app, service: str) -> str:
    """The service's line as the screen shows it (the compositor's strips, caches and all)."""
    lines = [strip.text for strip in app.screen._compositor.render_strips()]
    return next(line for line in lines if f" {service} " in line)


async def test_the_uptime_ticks_on_screen_in_every_row_and_changes_nothing_else():
    app = fixed_app()
    async with app.run_test(size=(100, 30)) as pilot:
        young = [replace(r, started_at=NOW - timedelta(seconds=8)) if r.started_at else r for r in rows()]
        app.show_snapshot(Snapshot(young, []))
        await pilot.pause()
        table = app.query_one(ServicesTable)
        assert table.selected_service == "vscode"  # the cursor row is drawn in its own style: tick it too
        before = {s: _screen_row(app, s) for s in ("vscode", "mcp-server", "backend")}
        assert " 8s " in before["vscode"] and " 8s " in before["mcp-server"]
        for seconds, shown in ((1, "9s"), (2, "10s"), (62, "1m"), (63, "1m")):
            table.tick(NOW + timedelta(seconds=seconds))
            await pilot.pause()
            for service in ("vscode", "mcp-server"):
                assert table.cell_text(service, "up") == shown
                assert f" {shown} " in _screen_row(app, service)
        after = {s: _screen_row(app, s) for s in ("vscode", "mcp-server", "backend")}
        assert after["backend"].split() == before["backend"].split()  # exited: no uptime (the column grew)
        assert after["vscode"].replace(" 1m ", " 8s ", 1).split() == before["vscode"].split()


async def test_a_log_flush_carries_the_uptime_along():
    """At idle the followed service's line and the uptime tick share one frame a second."""
    from stacktui.core.engine.loglines import LogLine

    now = [NOW]
    app = fixed_app()
    app.clock = lambda: now[0]
    app._tick = lambda: None  # the once-a-second timer must not do it behind the test's back
    async with app.run_test(size=(100, 30)) as pilot:
        young = [replace(r, started_at=NOW - timedelta(seconds=8)) if r.started_at else r for r in rows()]
        app.show_snapshot(Snapshot(young, []))
        await pilot.pause()
        table = app.query_one(ServicesTable)
        assert table.cell_text("mcp-server", "up") == "8s"
        now[0] = NOW + timedelta(seconds=1)
        app.store.append("vscode", [LogLine("vscode", 1, "not the followed service")])
        app.flush_logs_now()
        assert table.cell_text("mcp-server", "up") == "8s"  # nothing drawn: the timer's job
        app.store.append("mcp-server", [LogLine("mcp-server", 2, "a line of the followed service")])
        app.flush_logs_now()
        assert table.cell_text("mcp-server", "up") == "9s"


async def test_the_first_rows_replace_the_placeholders_and_keep_the_selected_service():
    """Before the engine answers, the table holds the services' names; the first real rows take
    their place whole (the cursor stays on the service it was on) and the screen shows them."""
    app = fixed_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        table = app.query_one(ServicesTable)
        assert [table.cell_text(s, "state") for s in ("vscode", "mcp-server", "backend")] == ["\u2026"] * 3
        table.move_cursor(row=2)
        await pilot.pause()
        assert table.selected_service == "backend"
        app.show_snapshot(Snapshot(rows(), []))
        await pilot.pause()
        assert table.row_count == 3 and table.selected_service == "backend"
        assert [str(table.get_row_at(i)[0]) for i in range(3)] == ["vscode", "mcp-server", "backend"]
        assert "running" in _screen_row(app, "vscode") and "exited (1)" in _screen_row(app, "backend")
        assert "\u2026" not in _screen_row(app, "mcp-server")


async def test_figures_of_a_service_left_out_of_a_round_stay_and_the_rows_on_screen_are_wanted():
    """Past 40 containers the figures read only the rows on screen most rounds: a service left out
    keeps its last figures (its cells are not blanked), one whose container changed shows none."""
    from stacktui.core.resources.figures import Figures

    app = fixed_app()
    async with app.run_test(size=(100, 30)) as pilot:
        app.show_snapshot(Snapshot(rows(), []))
        await pilot.pause()
        table = app.query_one(ServicesTable)
        table.start_figures()
        table.show_figures({"vscode": Figures("vscode", "c1", 12.5, 50 << 20, 1 << 30, 1000, 2000),
                            "mcp-server": Figures("mcp-server", "c2", 3.0, 20 << 20, 1 << 30, None, None, "vscode")})
        await pilot.pause()
        before = table.cell_text("vscode", "cpu")
        assert "12" in before
        table.show_figures({"mcp-server": Figures("mcp-server", "c2", 4.0, 20 << 20, 1 << 30, None, None, "vscode")})
        await pilot.pause()
        assert table.cell_text("vscode", "cpu") == before and "12" in _screen_row(app, "vscode")
        assert "4" in table.cell_text("mcp-server", "cpu")
        assert table.figures_wanted == frozenset({"vscode", "mcp-server", "backend"})
        table.show_figures({"vscode": Figures("vscode", "other", 99.0, 1, 1 << 30, 0, 0)})  # recreated since
        await pilot.pause()
        assert "99" not in table.cell_text("vscode", "cpu")
