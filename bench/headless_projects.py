"""The projects screen measured headless in a process of its own (bench_projects runs it).

    python -m bench.headless_projects --expect N --pause CONTAINER --project NAME --cycles 20 --idle 10
    python -m bench.headless_projects --startup   (in a project's folder)

Prints one JSON object: seconds from the process's creation to the first frame with N rows
(interpreter start and imports included), each pause/unpause's delay from the API call to the
frame showing the changed count, the process's CPU over an idle window with the screen open, and
the switches (Enter on a project to its full table, `p` back to the projects) in the same app.
With --startup: seconds from the process's creation to the project's populated table, the app
built as `stacktui` builds it in that folder.
"""
from __future__ import annotations

import argparse
import asyncio
import gc
import json
import time
from typing import Any, Callable

T0_WALL = time.time()

from bench.appdriver import FrameClock, process_started  # noqa: E402  (after the clock: its imports are part of start-up)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--startup", action="store_true", help="start-up to this folder's project's table")
    parser.add_argument("--expect", type=int)
    parser.add_argument("--pause", help="a container id whose pause/unpause changes one row")
    parser.add_argument("--project")
    parser.add_argument("--cycles", type=int, default=20)
    parser.add_argument("--idle", type=float, default=10.0)
    parser.add_argument("--switches", type=int, default=5)
    args = parser.parse_args()
    gc.disable()  # as `stacktui` starts (commands/tui.py); the app turns it back on after its first frame
    if args.startup:
        print(json.dumps(await _startup()))
        return

    from stacktui.commands.context import Context
    from stacktui.commands.tui import build_switching_app
    from stacktui.core.engine.client import Engine
    from stacktui.core.engine.endpoint import resolve

    created = process_started()
    app = build_switching_app(Context(), None)
    clock = FrameClock(app)
    screen = app.projects_screen
    out: dict = {}
    async with app.run_test(size=(140, 60)) as pilot:
        hit = await clock.first_frame_where(lambda: len(screen.rows) >= args.expect, timeout=60)
        assert hit is not None, "the projects never all listed"
        out["startup_s"] = hit[1] - created
        out["import_offset_s"] = T0_WALL - created
        await pilot.pause()
        engine = Engine.connect(resolve())
        table = screen.table
        key = next(k for k, (_, s) in screen.rows.items() if s.project == args.project)
        delays = []
        for i in range(args.cycles):
            pausing = i % 2 == 0
            shown = "1/2" if pausing else "2/2"  # a paused owner is not running; its joiner still is
            call = engine.api.pause if pausing else engine.api.unpause
            took = await _frame_after(clock, lambda: call(args.pause),
                                      lambda: str(table.cells_of(key)[3]) == shown)
            delays.append(took if took is not None else float("inf"))
            await asyncio.sleep(0.2)
        out["event_delays_s"] = delays
        await asyncio.sleep(2.0)
        import psutil  # here, not before the first frame: the bench's own imports are not start-up

        proc = psutil.Process()
        c0 = sum(proc.cpu_times()[:2])
        l0 = screen.listings
        w0 = time.perf_counter()
        await asyncio.sleep(args.idle)
        out["idle_cpu_pct"] = (sum(proc.cpu_times()[:2]) - c0) / (time.perf_counter() - w0) * 100
        out["rows"] = len(screen.rows)
        out["idle_listings"] = screen.listings - l0
        engine.close()
        # Switching, in the same app: Enter on the victim's row to the first frame of its table with a
        # row per service, then `p` to the first frame of the projects screen again.
        opens, backs = [], []
        for _ in range(args.switches):
            table.move_to(key)
            await pilot.pause()
            took = await _frame_after(clock, lambda: pilot.press("enter"),
                                      lambda: app.screen is not screen and app.first_rows_at is not None)
            opens.append(took if took is not None else float("inf"))
            await asyncio.sleep(0.5)  # the project's followers at work, as a user would see it
            took = await _frame_after(clock, lambda: pilot.press("p"), lambda: app.screen is screen)
            backs.append(took if took is not None else float("inf"))
            await asyncio.sleep(0.3)
        out["switch_s"] = opens
        out["back_s"] = backs
    print(json.dumps(out))


async def _frame_after(clock: FrameClock, action: Callable[[], Any], shows: Callable[[], bool],
                       timeout: float = 10.0) -> float | None:
    """Seconds from the action to the first frame displayed where `shows()` holds (watched from before)."""
    waiter = asyncio.ensure_future(clock.first_frame_where(shows, timeout))
    await asyncio.sleep(0)
    t0 = time.perf_counter()
    done = action()
    if asyncio.iscoroutine(done):
        await done
    hit = await waiter
    return hit[0] - t0 if hit is not None else None


async def _startup() -> dict:
    """Process creation to the first frame of this folder's project with every service's row."""
    from stacktui.commands.context import Context
    from stacktui.commands.tui import build_app

    created = process_started()
    app = build_app(Context(), None)
    clock = FrameClock(app)
    out: dict = {}
    try:
        async with app.run_test(size=(140, 60)):
            hit = await clock.first_frame_where(lambda: app.first_rows_at is not None, timeout=60)
            assert hit is not None, "the project's table never filled"
            out = {"startup_s": hit[1] - created, "services": len(app.project.services),
                   "import_offset_s": T0_WALL - created}
            app.stop_core()
    except Exception as exc:  # closing right after its first frame, the app met one of its own late messages
        if not out:
            raise
        out["app_error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"
    return out


if __name__ == "__main__":
    asyncio.run(main())
