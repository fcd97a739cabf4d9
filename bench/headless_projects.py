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

T0_WALL = time.time()


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

    import psutil

    from stacktui.commands.context import Context
    from stacktui.commands.tui import build_switching_app
    from stacktui.core.engine.client import Engine
    from stacktui.core.engine.endpoint import resolve

    created = psutil.Process().create_time()
    app = build_switching_app(Context(), None)
    screen = app.projects_screen
    out: dict = {}
    async with app.run_test(size=(140, 60)) as pilot:
        while len(screen.rows) < args.expect:
            await asyncio.sleep(0.005)
        await pilot.pause()
        out["startup_s"] = time.time() - created
        out["import_offset_s"] = T0_WALL - created
        engine = Engine.connect(resolve())
        delays = []

        def running_of() -> int:
            return next(s.running for _, s in screen.rows.values() if s.project == args.project)

        for i in range(args.cycles):
            pausing = i % 2 == 0
            want = 1 if pausing else 2  # a paused owner is not running; its joiner still is
            t0 = time.perf_counter()
            (engine.api.pause if pausing else engine.api.unpause)(args.pause)
            deadline = t0 + 10
            while running_of() != want and time.perf_counter() < deadline:
                await asyncio.sleep(0.002)
            await pilot.pause()  # the frame that shows it
            delays.append(time.perf_counter() - t0 if running_of() == want else float("inf"))
            await asyncio.sleep(0.2)
        out["event_delays_s"] = delays
        await asyncio.sleep(2.0)
        proc = psutil.Process()
        c0 = sum(proc.cpu_times()[:2])
        l0 = screen.listings
        w0 = time.perf_counter()
        await asyncio.sleep(args.idle)
        out["idle_cpu_pct"] = (sum(proc.cpu_times()[:2]) - c0) / (time.perf_counter() - w0) * 100
        out["rows"] = len(screen.rows)
        out["idle_listings"] = screen.listings - l0
        engine.close()
        # Switching, in the same app: Enter on the victim's row to its table with a row per service
        # drawn, then `p` to the projects screen drawn again.
        table = screen.query_one("DataTable")
        opens, backs = [], []
        for _ in range(args.switches):
            key = next(k for k, (_, s) in screen.rows.items() if s.project == args.project)
            table.move_cursor(row=table.get_row_index(key))
            await pilot.pause()
            t_enter = time.perf_counter()
            await pilot.press("enter")
            while not (app.project is not None and app.first_rows_at is not None and app.screen is not screen):
                await asyncio.sleep(0.002)
            await pilot.pause()
            opens.append(time.perf_counter() - t_enter)
            await asyncio.sleep(0.5)  # the project's followers at work, as a user would see it
            t_p = time.perf_counter()
            await pilot.press("p")
            while app.screen is not screen:
                await asyncio.sleep(0.002)
            await pilot.pause()
            backs.append(time.perf_counter() - t_p)
            await asyncio.sleep(0.3)
        out["switch_s"] = opens
        out["back_s"] = backs
    print(json.dumps(out))


async def _startup() -> dict:
    """Process creation to the first frame of this folder's project with every service's row."""
    import psutil

    from stacktui.commands.context import Context
    from stacktui.commands.tui import build_app

    created = psutil.Process().create_time()
    app = build_app(Context(), None)
    async with app.run_test(size=(140, 60)) as pilot:
        while not (app.project is not None and app.first_rows_at is not None):
            await asyncio.sleep(0.002)
        await pilot.pause()
        took = time.time() - created
        services = len(app.project.services)
        app.stop_core()
    return {"startup_s": took, "services": services, "import_offset_s": T0_WALL - created}


if __name__ == "__main__":
    asyncio.run(main())
