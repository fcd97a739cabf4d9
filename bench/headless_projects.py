"""The projects screen measured headless in a process of its own (bench_projects runs it).

    python -m bench.headless_projects --expect N --pause CONTAINER --cycles 20 --idle 10

Prints one JSON object: seconds from the process's creation to the first frame with N rows
(interpreter start and imports included), each pause/unpause's delay from the API call to the
frame showing the changed count, and the process's CPU over an idle window with the screen open.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import time

T0_WALL = time.time()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--expect", type=int, required=True)
    parser.add_argument("--pause", required=True, help="a container id whose pause/unpause changes one row")
    parser.add_argument("--project", required=True)
    parser.add_argument("--cycles", type=int, default=20)
    parser.add_argument("--idle", type=float, default=10.0)
    args = parser.parse_args()

    import psutil

    from stacktui.core.engine.client import Engine
    from stacktui.core.engine.endpoint import resolve
    from stacktui.ui.projects import ProjectsApp

    created = psutil.Process().create_time()
    app = ProjectsApp([resolve()], Engine.connect)
    out: dict = {}
    async with app.run_test(size=(140, 60)) as pilot:
        while len(app.rows) < args.expect:
            await asyncio.sleep(0.005)
        await pilot.pause()
        out["startup_s"] = time.time() - created
        out["import_offset_s"] = T0_WALL - created
        engine = Engine.connect(resolve())
        delays = []

        def running_of() -> int:
            return next(s.running for _, s in app.rows.values() if s.project == args.project)

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
        l0 = app.listings
        w0 = time.perf_counter()
        await asyncio.sleep(args.idle)
        out["idle_cpu_pct"] = (sum(proc.cpu_times()[:2]) - c0) / (time.perf_counter() - w0) * 100
        out["rows"] = len(app.rows)
        out["idle_listings"] = app.listings - l0
        engine.close()
        # Switching: Enter on the victim's row, to the project's table with a row per service.
        table = app.query_one("DataTable")
        key = next(k for k, (_, s) in app.rows.items() if s.project == args.project)
        table.move_cursor(row=table.get_row_index(key))
        await pilot.pause()
        t_enter = time.perf_counter()
        await pilot.press("enter")
    choice = app.return_value
    out["switch_s"] = await _open(choice, t_enter)
    app.close_engines()
    print(json.dumps(out))


async def _open(choice, t_enter: float) -> float:
    """Seconds from Enter on the projects screen to the project's table showing every service."""
    from stacktui.commands.context import Context
    from stacktui.commands.tui import build_app

    one = Context(project_name=choice.project, _endpoints=[choice.endpoint], _engine=choice.engine)
    app = build_app(one, None, from_projects=True)
    async with app.run_test(size=(140, 60)) as pilot:
        while not (app.project is not None and app.first_rows_at is not None):
            await asyncio.sleep(0.005)
        await pilot.pause()
        took = time.perf_counter() - t_enter
        app.stop_core()
    return took


if __name__ == "__main__":
    asyncio.run(main())
