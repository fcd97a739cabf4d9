"""No thread outlives its owner: every CLI command run in-process, and the TUI after stop_core,
leave no thread of theirs behind; pressing `H` opens no second event stream and lists nothing again.

On the real engine, the real Compose CLI and the real app.
"""
from __future__ import annotations

import threading

import pytest

from stacktui.cli import main
from stacktui.core.compose.discovery import resolve_target
from stacktui.core.loader import load_project
from stacktui.core.settings import Settings
from stacktui.ui.app import StackApp
from tests.waiting import until, until_app

# Threads that are not stacktui's: the event loop's default executor (reused by any worker).
NOT_OURS = ("asyncio_",)


def leftovers(before: set[threading.Thread]) -> list[str]:
    return sorted(t.name for t in threading.enumerate()
                  if t not in before and t.is_alive() and not t.name.startswith(NOT_OURS))


COMMANDS = [
    ["status"],
    ["status", "--json"],
    ["check"],
    ["check", "--static"],
    ["layout", "show"],
    ["restart", "mcp-server", "--dry-run"],
    ["restart", "backend", "--timeout", "60"],
    ["config"],
    ["projects"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=[" ".join(c) for c in COMMANDS])
def test_a_cli_command_leaves_no_thread_behind(module_demo_stack, command, capsys):
    before = set(threading.enumerate())
    code = main(["-f", str(module_demo_stack.file), *command])
    out = capsys.readouterr()
    assert code == 0, out.err
    # A plan's worker pools are shut down without waiting: their last task (bounded) ends, then they do.
    # A loop left running would never end: that is what fails here.
    until(lambda: leftovers(before) == [], 10, f"the threads `stacktui {' '.join(command)}` started to end")


class Counting:
    """The engine adapter, counting /events streams and listings of the project, by the thread that asked."""

    def __init__(self, engine) -> None:
        self._engine = engine
        self.streams = 0
        self.listings: list[str] = []  # the name of the thread of each listing
        real = engine.events

        def events(*args, **kwargs):
            self.streams += 1
            return real(*args, **kwargs)

        engine.events = events  # the follower calls the adapter itself: counted there

    def project_containers(self, *args, **kwargs):
        self.listings.append(threading.current_thread().name)
        return self._engine.project_containers(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._engine, name)


async def test_h_opens_no_engine_stream_and_stop_core_leaves_no_thread(demo_stack, engine):
    from stacktui.core.engine.client import Engine

    target = resolve_target([str(demo_stack.file)], cwd=demo_stack.dir)
    own = Engine(host=engine.host)  # an engine of this test's own: its follower is this app's alone
    counting = Counting(own)
    before = set(threading.enumerate())
    app = StackApp(load_project(target), counting, target=target, reload=lambda: load_project(target),
                   probe_interval=1.0, settings=Settings())
    try:
        async with app.run_test(size=(160, 45)) as pilot:
            await until_app(pilot, lambda: app.table.status_of("mcp-server")
                            and app.table.cell_text("mcp-server", "health") == "\u2714 healthy", 60,
                            "mcp-server healthy in the table")
            assert counting.streams == 1
            listed = len(counting.listings)
            await pilot.press("H")
            await until_app(pilot, lambda: app.heal.healer is not None
                            and "heal on" in str(app.query_one("#topbar").content), 10, "`heal on` in the top bar")
            # The healer's first look (its own listing, on its own thread) shows it heard the engine.
            healer = f"heal-{app.project.name}"
            await until_app(pilot, lambda: healer in counting.listings[listed:], 20, "the healer's first look")
            assert counting.streams == 1, "H opened another /events stream"
            assert [t for t in counting.listings[listed:] if t != healer] == [], "H listed the project again"
            app.stop_core()
            await until_app(pilot, lambda: leftovers(before) == [], 5, "every thread of the app's core to end")
            await pilot.press("q")
    finally:
        own.close()
