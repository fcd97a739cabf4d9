"""The log pane from fixed lines: timestamps, wrap, search highlights, follow/pause, pruning, markers."""
from __future__ import annotations

import asyncio
import time

import pytest

from rich.style import Style
from textual import events
from textual.widgets import Input

from stacktui.core.engine.loglines import EVENT, LogLine
from stacktui.core.live.store import LogStore
from stacktui.core.sanitize import DISPLAY_LIMIT
from stacktui.ui.app import StackApp
from stacktui.ui.logformat import LIGHT_PALETTE
from stacktui.ui.logview import CURRENT_MATCH_STYLE, EVENT_STYLE, MATCH_STYLE, PALETTE, LogView
from tests.test_ui_snapshots import BASE_NS, NOW, demo_project
from tests.waiting import until_app


def app_with(lines: list[LogLine], view_lines: int = 50_000) -> StackApp:
    store = LogStore()
    for line in lines:
        store.append(line.service, [line])
    return StackApp(demo_project(), None, store=store, live=False, clock=lambda: NOW, view_lines=view_lines)


def mcp(i: int, text: str | None = None, stream: int = 1) -> LogLine:
    return LogLine("mcp-server", BASE_NS + i * 1_000_000, text if text is not None else f"line {i}", stream)


def row_styles(view: LogView, y: int) -> list[tuple[str, Style]]:
    return [(seg.text, seg.style) for seg in view.render_line(y) if seg.style]


def find_row(view: LogView, needle: str) -> int:
    for y in range(view.size.height):
        if needle in "".join(seg.text for seg in view.render_line(y)):
            return y
    raise AssertionError(f"{needle!r} is not on screen")


async def test_timestamps_and_wrap_toggle_and_redraw():
    long = "x" * 250
    app = app_with([mcp(1, "short"), mcp(2, long)])
    async with app.run_test(size=(80, 24)) as pilot:
        view = app.pane.log_view
        assert list(view.lines) == ["short", long]
        await pilot.press("t")
        stamp = time.strftime("%H:%M:%S", time.localtime(BASE_NS // 10**9))
        assert view.lines[0] == f"{stamp}.001 short"
        await pilot.press("t", "w")
        width = view.scrollable_content_region.width
        assert len(view.lines) > 2 and all(len(t) <= width for t in view.lines)
        assert "".join(view.lines[1:]) == long
        await pilot.press("w")
        assert list(view.lines) == ["short", long]


async def test_search_highlights_every_match_and_marks_the_current_one():
    app = app_with([mcp(i, f"request {i} {'ERROR' if i % 3 == 0 else 'ok'}") for i in range(1, 10)])
    async with app.run_test(size=(80, 30)) as pilot:
        pane, view = app.pane, app.pane.log_view
        await pilot.press("slash", *"error", "enter")
        assert pane.matches == 3
        assert view.lines[view.current_match] == "request 9 ERROR"
        current = row_styles(view, find_row(view, "request 9 ERROR"))
        assert any(t == "ERROR" and s.bgcolor == CURRENT_MATCH_STYLE.bgcolor and s.underline for t, s in current)
        other = row_styles(view, find_row(view, "request 6 ERROR"))
        assert any(t == "ERROR" and s.bgcolor == MATCH_STYLE.bgcolor for t, s in other)
        assert not any(s.bgcolor in (MATCH_STYLE.bgcolor, CURRENT_MATCH_STYLE.bgcolor)
                       for _, s in row_styles(view, find_row(view, "request 5 ok")))
        await pilot.press("N")
        assert view.lines[view.current_match] == "request 6 ERROR"
        await pilot.press("n")
        assert view.lines[view.current_match] == "request 9 ERROR"
        await pilot.press("n")  # wraps around to the oldest
        assert view.lines[view.current_match] == "request 3 ERROR"
        assert "1/3" in str(app.pane.query_one("#log-title").content)


async def test_scrolling_up_pauses_and_f_resumes_at_the_newest_line():
    app = app_with([mcp(i) for i in range(200)])
    async with app.run_test(size=(80, 24)) as pilot:
        pane, view = app.pane, app.pane.log_view
        assert view.follow and view.is_vertical_scroll_end
        view.focus()
        await pilot.press("pageup")
        assert not view.follow
        top = view.scroll_offset.y
        app.store.append("mcp-server", [mcp(1000 + i) for i in range(5)])
        app.flush_logs_now()
        await pilot.pause()
        assert view.scroll_offset.y == top  # paused: new lines do not move the view
        assert "paused (+5 new)" in str(pane.query_one("#log-title").content)
        await pilot.press("f")
        await pilot.pause()
        assert view.follow and view.is_vertical_scroll_end
        assert "line 1004" in "".join(seg.text for seg in view.render_line(view.size.height - 1))


async def test_a_full_view_prunes_old_lines_and_still_shows_the_newest():
    app = app_with([], view_lines=200)
    async with app.run_test(size=(80, 24)) as pilot:
        view = app.pane.log_view
        for batch in range(15):
            app.store.append("mcp-server", [mcp(batch * 100 + i) for i in range(100)])
            app.flush_logs_now()
            await pilot.pause()
        # Old lines go in chunks: at 1,300 lines (1,100 over the cap of 200, more than the
        # 1,000 of slack) the view dropped to its newest 200, then grew by the last two batches.
        assert list(view.lines) == [f"line {i}" for i in range(1100, 1500)]
        assert len(view.meta) == len(view.lines)
        assert len(app.store.lines("mcp-server")) == 1500  # the store keeps what the view let go
        bottom = "".join(seg.text for seg in view.render_line(view.size.height - 1))
        assert "line 1499" in bottom


async def test_a_batch_larger_than_the_view_shows_its_newest_lines_and_counts_them_all():
    """A flood's batch beyond the view's cap: only its newest lines are formatted and shown; a paused
    view still says how many arrived."""
    app = app_with([], view_lines=200)
    async with app.run_test(size=(80, 24)) as pilot:
        pane, view = app.pane, app.pane.log_view
        app.store.append("mcp-server", [mcp(i) for i in range(1000)])
        app.flush_logs_now()
        await pilot.pause()
        assert list(view.lines) == [f"line {i}" for i in range(800, 1000)] and len(view.meta) == 200
        assert "line 999" in "".join(seg.text for seg in view.render_line(view.size.height - 1))
        pane.search("line 9")  # line 9xx: 100 of the 200 lines held
        assert pane.matches == 100
        view.set_follow(False)
        app.store.append("mcp-server", [mcp(1000 + i) for i in range(500)])
        app.flush_logs_now()
        await pilot.pause()
        assert "paused (+500 new)" in str(pane.query_one("#log-title").content)
        assert list(view.lines)[-200:] == [f"line {i}" for i in range(1300, 1500)]  # the batch's newest 200
        assert len(view.meta) == len(view.lines)


async def test_pruning_keeps_the_current_search_match_on_its_line():
    app = app_with([], view_lines=200)
    async with app.run_test(size=(80, 24)) as pilot:
        pane, view = app.pane, app.pane.log_view

        async def add(start: int, stop: int) -> None:
            for first in range(start, stop, 100):  # in batches, as a flush brings them (one no larger than the cap)
                app.store.append("mcp-server", [mcp(i, f"ERROR {i}" if i % 10 == 0 and i >= 1150 else None)
                                                for i in range(first, min(first + 100, stop))])
                app.flush_logs_now()
                await pilot.pause()

        await add(0, 1200)  # 1,000 over the cap: not yet pruned
        await pilot.press("slash", *"ERROR", "enter")
        await pilot.press("N")
        assert view.lines[view.current_match] == "ERROR 1180"
        assert "4/5" in str(pane.query_one("#log-title").content)
        reading = view.lines[view.scroll_offset.y]
        await add(1200, 1250)  # 1,050 over: the oldest 1,050 lines go
        assert len(view.lines) == 200 and view.lines[0] == "line 1050"
        assert view.lines[view.scroll_offset.y] == reading  # paused: what the reader looked at stays put
        assert view.lines[view.current_match] == "ERROR 1180"  # the match moved up with its line
        assert "4/10" in str(pane.query_one("#log-title").content)
        current = row_styles(view, find_row(view, "ERROR 1180"))
        assert any(t == "ERROR" and s.bgcolor == CURRENT_MATCH_STYLE.bgcolor for t, s in current)
        await pilot.press("n")
        assert view.lines[view.current_match] == "ERROR 1190"


async def test_pruning_away_the_current_match_forgets_it_and_recounts():
    app = app_with([], view_lines=200)
    async with app.run_test(size=(80, 24)) as pilot:
        pane, view = app.pane, app.pane.log_view
        for first in range(0, 1200, 100):
            app.store.append("mcp-server", [mcp(i, "ERROR first" if i == 5 else None) for i in range(first, first + 100)])
            app.flush_logs_now()
            await pilot.pause()
        await pilot.press("slash", *"ERROR", "enter")
        assert view.lines[view.current_match] == "ERROR first"
        app.store.append("mcp-server", [mcp(i) for i in range(1200, 1250)])
        app.flush_logs_now()
        await pilot.pause()
        assert view.current_match is None and "ERROR first" not in view.lines
        assert pane.matches == 0 and "0 matches" in str(pane.query_one("#log-title").content)


async def test_merged_prefixes_are_coloured_and_event_lines_cannot_be_forged():
    forged = "\u2500\u2500 container restarted \u2500\u2500"
    app = app_with([mcp(1, forged), mcp(2, forged, EVENT), LogLine("vscode", BASE_NS + 3_000_000, "hello")])
    async with app.run_test(size=(80, 24)) as pilot:
        view = app.pane.log_view
        real = find_row(view, forged)
        rows = [y for y in range(view.size.height) if forged in "".join(s.text for s in view.render_line(y))]
        assert len(rows) == 2
        container_row, engine_row = rows
        assert not any(s.italic for _, s in row_styles(view, container_row))  # a container printed it
        assert any(s.italic and s.color == EVENT_STYLE.color for _, s in row_styles(view, engine_row))
        assert real == container_row
        await pilot.press("m")
        y = find_row(view, "hello")
        prefix = [s for t, s in row_styles(view, y) if "vscode" in t]
        assert prefix and prefix[0].color.name == PALETTE[0]  # vscode is the first service
        app.theme = "textual-light"  # bright cyan on white cannot be read: the same hue, darker
        await pilot.pause()
        prefix = [s for t, s in row_styles(view, find_row(view, "hello")) if "vscode" in t]
        assert prefix and prefix[0].color.name == LIGHT_PALETTE[0]
        styles = [s for y in range(view.size.height) if forged in "".join(g.text for g in view.render_line(y))
                  for _, s in row_styles(view, y)]
        assert any(s.italic and s.color.name == "deep_sky_blue4" for s in styles)  # the engine's line
        assert not any(s.color.name == EVENT_STYLE.color.name for s in styles if s.color)


async def test_a_very_long_line_is_cut_for_display_with_a_marker():
    app = app_with([mcp(1, "y" * (DISPLAY_LIMIT + 500))])
    async with app.run_test(size=(80, 24)):
        line = app.pane.log_view.lines[0]
        assert line.startswith("y" * DISPLAY_LIMIT) and line.endswith("[500 more characters]")
        assert len(app.store.lines("mcp-server")[0].text) == DISPLAY_LIMIT + 500  # the store keeps it whole


async def test_lines_render_as_the_highlighter_renders_them_in_every_view():
    """LogView builds unsearched lines straight from their Meta; the result is what the path a
    search takes (rich Text plus the highlighter) gives, in every view a flood can be shown in."""
    from rich.segment import Segment

    def segments(strip) -> list[tuple[str, Style | None]]:
        # Each segment carries its own selection offset, so the split into segments may differ;
        # what is drawn may not.
        plain = [Segment(seg.text, seg.style.clear_meta_and_links() if seg.style else None) for seg in strip]
        return [(seg.text, seg.style) for seg in Segment.simplify(plain) if seg.text]

    texts = ["plain", "tab\there", "wide 日本語 text", "", "x" * 300, "── container exited ──", "é accent"]
    lines = [LogLine(service, BASE_NS + i * 1_000_000, t, EVENT if t.startswith("──") else 1)
             for i, t in enumerate(texts) for service in ("mcp-server", "vscode", "not-in-project")]
    app = app_with(lines)
    async with app.run_test(size=(100, 60)) as pilot:
        pane, view = app.pane, app.pane.log_view
        compared = 0
        for step in ("merged", "one service", "timestamps", "timestamps merged", "wrap", "scrolled right"):
            if step == "one service":
                pane.show("mcp-server")
            elif step == "timestamps":
                pane.toggle_timestamps()
            elif step == "timestamps merged":
                pane.show(None)
            elif step == "wrap":
                pane.toggle_wrap()
            elif step == "scrolled right":
                pane.toggle_wrap()
                view.scroll_to(x=5, animate=False, immediate=True)
            await pilot.pause()
            for y in range(min(view.size.height, len(view.lines) - view.scroll_offset.y)):
                view.forget_rendering()
                ours = view.render_line(y).crop(0, view.text_columns)
                x, top = view.scroll_offset
                assert segments(ours) == segments(view.highlighted_strip(top + y, x, view.text_columns)), (step, y)
                compared += 1
        assert compared > 50


def screen_log_lines(app: StackApp) -> list[str]:
    """The log pane's rows as the screen shows them (the compositor's strips, caches and all)."""
    view = app.pane.log_view
    region = view.scrollable_content_region
    strips = app.screen._compositor.render_strips()
    return [strips[y].text[region.x:region.x + view.text_columns].strip() for y in range(region.y, region.bottom)]


async def test_a_quiet_stream_line_by_line_reaches_the_screen_before_and_after_the_pane_is_full():
    app = app_with([mcp(i) for i in range(5)])
    async with app.run_test(size=(80, 24)) as pilot:
        view = app.pane.log_view
        await pilot.pause()
        height = view.size.height
        for i in range(5, height + 5):  # one line per flush, as a healthy service at idle writes them
            app.store.append("mcp-server", [mcp(i)])
            app.flush_logs_now()
            await pilot.pause()
            shown = screen_log_lines(app)
            first = max(0, i + 1 - height)
            assert shown[:i + 1 - first] == [f"line {n}" for n in range(first, i + 1)]
            assert all(not row for row in shown[i + 1 - first:])
        assert view.virtual_size.height == len(view.lines)  # the thumb's length once it scrolls


def screen_scrollbar(app: StackApp) -> list[str]:
    """The log's vertical scrollbar as the screen shows it: each row's cells with their styles."""
    view = app.pane.log_view
    content = view.scrollable_content_region
    region = content.intersection(content.translate((view.text_columns, 0)))  # the columns right of the text
    strips = app.screen._compositor.render_strips()
    return [repr([(seg.text, seg.style) for seg in strips[y].crop(region.x, region.right)])
            for y in range(region.y, region.bottom)]


@pytest.mark.slow  # hundreds of scroll positions, each compared with a full repaint: ~10 s
async def test_the_scrollbar_on_screen_is_always_the_one_a_full_repaint_draws():
    app = app_with([mcp(i) for i in range(30)])
    async with app.run_test(size=(80, 24)) as pilot:
        view = app.pane.log_view
        await pilot.pause()

        async def same_after_full_repaint() -> list[str]:
            shown = screen_scrollbar(app)
            view.refresh()
            await pilot.pause()
            assert screen_scrollbar(app) == shown
            return shown

        seen = {tuple(await same_after_full_repaint())}
        for i in range(30, 150):  # following, a line at a time: the thumb shrinks
            app.store.append("mcp-server", [mcp(i)])
            app.flush_logs_now()
            await pilot.pause()
            seen.add(tuple(await same_after_full_repaint()))
        assert len(seen) > 3  # the thumb did move on screen
        view.focus()
        for key in ("home", "pagedown", "end"):
            await pilot.press(key)
            await pilot.pause()
            await same_after_full_repaint()
        await pilot.resize_terminal(90, 30)
        await pilot.pause()
        await same_after_full_repaint()


async def test_switching_service_mid_stream_shows_each_waiting_line_once():
    """Lines stored but not yet flushed when the pane switches service are drawn by the switch
    itself (from the store); the next flush must not add them a second time."""
    app = app_with([LogLine("vscode", BASE_NS, "vscode up", 1)])
    async with app.run_test(size=(80, 24)) as pilot:
        app.store.append("mcp-server", [mcp(i) for i in range(3)])  # waiting for the next flush
        app.pane.show("mcp-server")
        app.store.append("mcp-server", [mcp(3)])
        app.flush_logs_now()
        await pilot.pause()
        assert list(app.pane.log_view.lines) == [f"line {i}" for i in range(4)]
        assert app.pane.visible_lines()[:4] == [f"line {i}" for i in range(4)]


async def test_during_a_flood_the_last_lines_are_drawn_once_they_stop_coming():
    """A flood's flushes wait FLOOD_INTERVAL, but a backlog's last lines must not: the look that
    finds no new line since the one before draws what waits; while lines still come, it waits on."""
    from stacktui.ui.livefeed import FLOOD_INTERVAL

    app = app_with([])
    async with app.run_test(size=(80, 24)) as pilot:
        view = app.pane.log_view
        app.store.append("mcp-server", [mcp(i) for i in range(3000)])  # flood-sized: flushes now wait longer
        app.flush_logs_now()
        assert app.feed.flush_interval == FLOOD_INTERVAL
        app.feed.flush_scheduled = True  # what schedule_flush does, without its timer
        app.feed.burst = (asyncio.get_running_loop().time() + FLOOD_INTERVAL, app.store.arrived)
        app.store.append("mcp-server", [mcp(3000)])
        app.feed.flush_when_quiet()  # a line came since the last look and time is left: not yet
        assert view.lines[-1] == "line 2999" and app.feed.flush_scheduled
        app.feed.flush_when_quiet()  # nothing new since: drawn now
        await pilot.pause()
        assert view.lines[-1] == "line 3000" and not app.feed.flush_scheduled
        assert app.pane.visible_lines()[-1] == "line 3000"


async def test_keys_typed_right_after_slash_are_the_search_fields_and_the_log_keeps_following():
    app = app_with([mcp(i) for i in range(200)])
    async with app.run_test(size=(80, 24)) as pilot:
        view = app.pane.log_view
        view.focus()
        await pilot.pause()
        assert view.follow
        # One read from the terminal: `/` and the keys typed after it arrive together.
        for key, char in [("slash", "/"), ("x", "x"), ("up", None), ("pageup", None), ("y", "y")]:
            app.post_message(events.Key(key, char))
        await until_app(pilot, lambda: app.pane.query_one("#search", Input).value == "xy",
                        what="the typed keys in the search field")
        assert view.follow and "following" in str(app.pane.query_one("#log-title").content)


async def test_ampersand_then_enter_shows_every_line_and_up_brings_the_filter_back():
    app = app_with([mcp(i, f"request {i} {'error' if i % 2 else 'ok'}") for i in range(10)])
    async with app.run_test(size=(80, 24)) as pilot:
        view = app.pane.log_view
        await pilot.press("ampersand", *"error", "enter")
        assert len(view.lines) == 5
        await pilot.press("ampersand")
        field = app.pane.query_one("#filter", Input)
        assert field.value == "" and "'error'" in field.placeholder  # the filter in effect, said
        await pilot.press("enter")
        assert len(view.lines) == 10  # enter alone: every line again
        await pilot.press("ampersand", *"error", "enter", "ampersand", "up")
        assert field.value == "error"  # up: the filter in effect, to edit
        await pilot.press("enter")
        assert len(view.lines) == 5
        await pilot.press("ampersand", "escape")
        assert len(view.lines) == 5  # esc keeps it
