"""The services table: health reads without colour, cells are Text, and only changed cells are written."""
from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from rich.text import Text

from stacktui.core.live.watcher import Snapshot
from stacktui.ui.services import HEALTH_LOOK, ServicesTable, short_port, uptime
from stacktui.ui.services import uptime_changes_at as services_changes_at
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
            # The app's own tick (once a second) reads the same time: a tick of its between two of
            # the test's on a loaded machine would otherwise draw NOW's uptime again.
            app.clock = lambda at=NOW + timedelta(seconds=seconds): at
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
    app.feed.tick = lambda: None  # the once-a-second timer must not do it behind the test's back
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


async def test_a_figures_round_writes_only_cells_whose_text_changed_and_repaints_only_them():
    """Every 2 s the figures come: a round that reads the same writes no cell, and a changed
    figure is written in place without invalidating every cached render of the table (what
    DataTable.update_cell does: each round then rendered every cell of every row on screen)."""
    from stacktui.core.resources.figures import Figures

    app = fixed_app()
    async with app.run_test(size=(120, 30)) as pilot:
        app.show_snapshot(Snapshot(rows(), []))
        table = app.query_one(ServicesTable)
        table.start_figures()
        round1 = {"vscode": Figures("vscode", "c1", 3.42, 182 << 20, 2 << 30, 48_200_000, 9_100_000),
                  "mcp-server": Figures("mcp-server", "c2", 12.5, 61 << 20, 2 << 30, None, None, "vscode")}
        table.show_figures(round1)
        await pilot.pause()
        before, layouts = table.updates, table.layouts
        # The same readings again, as new objects (each round's are): 3.42 and 3.44 both read 3.4%.
        same = {**round1, "vscode": Figures("vscode", "c1", 3.44, 182 << 20, 2 << 30, 48_200_000, 9_100_000)}
        table.show_figures(same)
        await pilot.pause()
        assert table.updates == before
        assert "3.4%" in _screen_row(app, "vscode")
        rendered = table.cells_rendered
        table.show_figures({**same, "mcp-server": Figures("mcp-server", "c2", 55.0, 61 << 20, 2 << 30, None, None,
                                                          "vscode")})
        await pilot.pause()
        assert table.updates == before + 1  # the cpu cell of mcp-server, nothing else
        assert " 55% " in _screen_row(app, "mcp-server") and "3.4%" in _screen_row(app, "vscode")
        assert table.layouts == layouts  # no column grew: the table's other cached renders are kept
        assert table.cells_rendered == rendered + 1  # only the changed cell was rendered again


async def test_many_changed_cells_at_once_keep_the_cached_renders_and_reach_the_screen():
    """A snapshot changing every row (100 rows, 300 cells) is one pass, not a repaint of the table."""
    from stacktui.core.health.status import ServiceStatus

    def many(health: str, restarts: int = 0) -> list[ServiceStatus]:
        return [ServiceStatus(f"svc{i:03d}", "running", health, container_id=f"c{i}", restart_count=restarts,
                              started_at=NOW - timedelta(minutes=5)) for i in range(100)]

    app = fixed_app()
    async with app.run_test(size=(120, 30)) as pilot:
        app.show_snapshot(Snapshot(many("healthy"), []))
        await pilot.pause()
        table = app.query_one(ServicesTable)
        layouts, rendered = table.layouts, table.cells_rendered
        app.show_snapshot(Snapshot(many("stale", restarts=1), []))  # as wide as before: no column grows
        await pilot.pause()
        assert table.layouts == layouts
        assert table.cells_rendered - rendered <= 2 * table.size.height  # the rows on screen, two cells each
        assert "\u26a0 stale" in _screen_row(app, "svc003")
        assert table.cell_text("svc099", "health") == "\u26a0 stale"
        table.move_cursor(row=99)  # a row that was off screen is drawn from its data when scrolled to
        await pilot.pause()
        assert "\u26a0 stale" in _screen_row(app, "svc099")
        # Wider than its column: the column grows once (a layout), and every row says so.
        app.show_snapshot(Snapshot(many("unhealthy"), []))
        await pilot.pause()
        assert table.layouts == layouts + 1
        assert "\u2718 unhealthy" in _screen_row(app, "svc099")
        table.move_cursor(row=0)
        await pilot.pause()
        assert "\u2718 unhealthy" in _screen_row(app, "svc001")


async def test_a_tick_looks_at_no_row_until_an_uptime_would_read_differently(monkeypatch):
    """Past its first minute an uptime reads the same for a minute: the ticks in between cost nothing."""
    from stacktui.ui import services

    app = fixed_app()
    async with app.run_test(size=(100, 30)) as pilot:
        app.show_snapshot(Snapshot(rows(), []))  # vscode up 42m05s, mcp-server 3h07m
        await pilot.pause()
        table = app.query_one(ServicesTable)
        table.tick(NOW)
        asked = []
        real = services.uptime
        monkeypatch.setattr(services, "uptime", lambda started, now: asked.append(now) or real(started, now))
        for seconds in range(1, 55):  # 42m06s .. 42m59s
            table.tick(NOW + timedelta(seconds=seconds))
        assert asked == []
        table.tick(NOW + timedelta(seconds=55))  # vscode's 43rd minute
        await pilot.pause()
        assert asked and table.cell_text("vscode", "up") == "43m"
        assert " 43m " in _screen_row(app, "vscode")


def test_uptime_changes_at_the_next_boundary_of_what_it_reads():
    start = NOW
    for seconds, after in ((3, 4), (10, 20), (59, 60), (61, 120), (3600 + 61, 3600 + 120), (90000, 93600)):
        at = services_changes_at(start, start + timedelta(seconds=seconds))
        assert at == start + timedelta(seconds=after), seconds
        assert uptime(start, at) != uptime(start, at - timedelta(seconds=1))
    assert services_changes_at(None, NOW) is None


async def test_the_first_cpu_figure_fits_its_column_without_a_layout():
    """The first reading has no CPU figure yet (…); the second's "2.2%" fits the column as it is:
    a wider cell re-measures the columns, a layout of the whole screen in the idle window."""
    from stacktui.core.resources.figures import Figures

    app = fixed_app()
    async with app.run_test(size=(120, 30)) as pilot:
        app.show_snapshot(Snapshot(rows(), []))
        table = app.query_one(ServicesTable)
        table.start_figures()
        table.show_figures({"vscode": Figures("vscode", "c1", None, 182 << 20, 2 << 30, 0, 0)})
        await pilot.pause()
        layouts = table.layouts
        table.show_figures({"vscode": Figures("vscode", "c1", 2.2, 182 << 20, 2 << 30, 0, 0)})
        await pilot.pause()
        assert table.layouts == layouts
        assert " 2.2% " in _screen_row(app, "vscode")
