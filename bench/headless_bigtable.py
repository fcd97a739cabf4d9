"""The TUI on a 2,000-service file (bench/bigfile.py), headless: start-up to a populated table, and
key press to frame with 2,000 rows. Run as a child process in the file's folder by bench_bigtable.

The services are not started (nothing is created): the table holds one row per service either
way, and 2,000 containers would take the shared 2-core machine many minutes to create. What is
measured is the model and the table: Compose's `config`, stacktui's reading of the file, 2,000
rows drawn, and the cursor moving through them.
"""
from __future__ import annotations

import asyncio
import json
import random
import sys
import time
from typing import Any

from bench import appdriver as ad

SIZE = (120, 40)


async def measure(rows: int, presses: int) -> dict[str, Any]:
    from textual import events

    started = ad.process_started()  # the process's own start, as a user's `stacktui` starts
    ctx, parsed = ad.build_context([])
    app = ad.build_app(ctx, parsed)
    clock = ad.FrameClock(app)
    out: dict[str, Any] = {}

    def populated() -> bool:
        table = ad.services_table(app)
        return table is not None and table.row_count >= rows and bool(ad.row_text(table, "svc0000"))

    async with app.run_test(size=SIZE) as pilot:
        hit = await clock.first_frame_where(populated, timeout=120)
        if hit is None:
            table = ad.services_table(app)
            raise TimeoutError(f"the table never showed {rows} rows ({table.row_count if table is not None else None} "
                               f"rows): {ad.screen_text(app)[:1500]}")
        out["startup"] = hit[1] - started
        table = ad.services_table(app)
        app.set_focus(table)
        await pilot.pause(0.5)
        for kind, keys in (("step", ("down", "up")), ("page", ("pagedown", "pageup"))):
            samples: list[float] = []
            missed = 0
            for i in range(presses):
                key = keys[i % 2]
                before = table.cursor_row
                t0 = time.perf_counter()
                app.post_message(events.Key(key, None))  # through the queue, as a terminal driver delivers it
                seen = await clock.first_frame_where(lambda: table.cursor_row != before, timeout=5.0)
                if seen is None:
                    missed += 1
                else:
                    samples.append(seen[0] - t0)
                await asyncio.sleep(random.uniform(0.05, 0.15))
            out[kind] = {"samples": samples, "missed": missed}
        out["rows"] = table.row_count
        out["rss"] = ad.rss_bytes()
    return out


def main(argv: list[str]) -> int:
    rows, presses = int(argv[0]), int(argv[1])
    print(json.dumps(asyncio.run(measure(rows, presses))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
