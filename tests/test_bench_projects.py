"""The projects benchmark reads what it claims (bench/bench_projects.py, bench/headless_projects.py).
Nothing here times anything: the figures are fixed, or only compared with the frame they name."""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from rich.text import Text
from textual.app import App

from bench.appdriver import FrameClock
from bench.bench_projects import _screen_rows
from bench.headless_projects import _frame_after
from stacktui.ui.projectlist import ProjectsList

SCREEN = {"startup_s": 0.61, "import_offset_s": 0.05, "event_delays_s": [0.01 * i for i in range(1, 21)],
          "idle_cpu_pct": 0.4, "idle_listings": 0, "rows": 51, "switch_s": [0.5, 0.2, 0.3], "back_s": [0.05, 0.07, 0.06],
          "engine_containers": 101, "project_startup_s": 0.7, "project_services": 2, "compose_ps_s": 0.25}


def test_each_screen_row_reads_its_own_figure():
    rows = {r.name.split(",")[0].split(":")[0]: r for r in _screen_rows(SCREEN, 101, quick=False)}
    startup = rows["TUI start-up to the projects screen"]
    assert (startup.value, startup.met) == (0.61, True)
    one = rows["TUI start-up to one project's populated table"]
    assert (one.value, one.reference, one.met) == (0.7, 0.25, True) and "2 services" in one.note
    switch = rows["switching"]
    assert (switch.value, switch.reference, switch.met) == (0.3, 0.06, False)  # medians; 0.3 is not < 0.3
    event = rows["event to projects-screen update (pause/unpause of an owner)"]
    assert round(event.value) == 190 and round(event.reference) == 110  # the harness's p95 and p50 of 10..200 ms, in ms
    assert rows["idle CPU"].value == 0.4


class _ListApp(App[None]):
    def compose(self):
        yield ProjectsList(["project", "running"], id="projects")

    def on_mount(self) -> None:
        self.query_one(ProjectsList).set_row("0\x00a", [Text("a"), Text("2/2")])


async def test_the_frame_after_a_change_is_the_first_one_showing_it():
    app = _ListApp()
    clock = FrameClock(app)
    async with app.run_test(size=(60, 10)) as pilot:
        await pilot.pause()
        listing = app.query_one(ProjectsList)
        row = listing._rows["0\x00a"]
        frames = clock.frames
        seen: list[str] = []

        def shows() -> bool:
            seen.append(str(row.render()))
            return str(listing.cells_of("0\x00a")[1]) == "1/2"

        took = await _frame_after(clock, lambda: listing.set_row("0\x00a", [Text("a"), Text("1/2")]), shows)
        assert took is not None and took > 0
        assert clock.frames > frames
        assert seen and "1/2" in seen[-1]  # the frame judged is the one drawing the new count


def test_the_process_start_is_when_the_process_was_made():
    """"From the process's creation" starts when the parent made the process: psutil's create_time()
    was 0.5 s early here (the boot time in whole seconds), and every start-up row carried it."""
    before = time.time()
    done = subprocess.run([sys.executable, "-c", "import time; from bench.appdriver import process_started; "
                           "print(process_started(), time.time())"], capture_output=True, text=True, timeout=60,
                          cwd=str(Path(__file__).resolve().parent.parent))
    started, running = map(float, done.stdout.split())
    tick = 0.02  # the kernel's start time and /proc/uptime both come in 10 ms steps
    assert before - tick <= started <= running + tick
