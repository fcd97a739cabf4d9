"""Waiting on a condition, never on the clock: the one `until` every test uses.

A test that sleeps "long enough" passes or fails with the machine's load; one that waits for
what it needs to see fails only when that never happens, and says what it was waiting for.
The timeout is a bound on a hang, not a measurement.
"""
from __future__ import annotations

import time
from typing import Any, Callable

# Between polls, at least this many times what the last poll took (up to MAX_STEP): a predicate that asks
# the engine or starts Compose (tens of milliseconds of CPU) then takes a fifth of a core at most, not
# all of one, on a machine where the test workers share two cores with the engine. A cheap one still
# polls every `step`; one that waited out a network timeout is asked again within MAX_STEP.
COST_FACTOR, MAX_STEP = 4, 0.5


def _pause(step: float, asked: float, now: float, deadline: float) -> float:
    """Seconds until the next poll of one that began at `asked` and ended at `now`."""
    return min(max(step, min(COST_FACTOR * (now - asked), MAX_STEP)), deadline - now)


def until(predicate: Callable[[], Any], timeout: float = 20.0, what: str = "condition", step: float = 0.05) -> Any:
    """Poll predicate until it returns something true and return that; fail naming what never happened."""
    deadline = time.monotonic() + timeout
    while True:
        asked = time.monotonic()
        value = predicate()
        if value:
            return value
        now = time.monotonic()
        if now >= deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(_pause(step, asked, now, deadline))


async def until_app(pilot: Any, predicate: Callable[[], Any], timeout: float = 20.0, what: str = "condition",
                    step: float = 0.05) -> Any:
    """The same inside a Textual app test: between polls the app runs (pilot.pause), not a sleep."""
    deadline = time.monotonic() + timeout
    while True:
        asked = time.monotonic()
        value = predicate()
        if value:
            return value
        now = time.monotonic()
        if now >= deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        await pilot.pause(_pause(step, asked, now, deadline))


async def click_when_drawn(pilot: Any, selector: str, timeout: float = 20.0) -> None:
    """Click a widget once it is on the screen and laid out: a click on a dialog still being
    mounted lands on nothing (a loaded machine shows it)."""
    last: list[object] = [None]

    def drawn() -> bool:  # laid out, and where it was at the last look: not still moving
        found = pilot.app.screen.query(selector)
        region = found.first().region if found else None
        settled = region is not None and region.width > 0 and region == last[0]
        last[0] = region
        return settled

    await until_app(pilot, drawn, timeout, f"{selector} drawn")
    await pilot.click(selector)


def on_screen(app: Any, kind: type) -> Any:
    """The app's screen once it is a `kind` and mounted, else None: a screen is current as soon as it
    is pushed, but its widgets exist only once its compose and mount have run (a loaded machine shows
    the gap)."""
    screen = app.screen
    return screen if isinstance(screen, kind) and screen.is_mounted else None
