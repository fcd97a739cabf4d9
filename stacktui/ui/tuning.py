"""The interpreter settings the app changes for itself, each made, undone, and undone at exit.

The collector and the GIL are process-wide: a test runner, a CLI command after the app, or an
embedding program must find them as they were once the app stops (`restore`).
"""
from __future__ import annotations

import gc
import sys
import time

# During a flood every line is a LogLine held in the store, and the collector never untracks a
# NamedTuple (only exact tuples): at the default threshold (700) a young collection ran every 700
# lines, and a 300k-line flood spent 3.3 s of its 18 s in the collector (every thread stopped),
# measured headless. While batches are flood-sized the threshold is raised, and put back after.
FLOOD_GC_THRESHOLD = 20_000
FLOOD_GC_HOLD = 2.0  # seconds without a flood-sized batch before the thresholds go back (a starved
# reader's batches come small now and then in the middle of a flood)
# During a flood the log reader parses without pause, and a thread waiting for the GIL gets it only
# after the switch interval (5 ms by default): the UI thread waits that long every time it comes
# back from select(), several times between a key and its frame. At 1 ms, keys under a 1M-line
# flood measured p95 42/70/50 ms against 83/91/73 ms at 5 ms (alternating pairs, machine load 6-10;
# one more pair under a load spike to 34 went the other way), the flood's time unchanged.
FLOOD_SWITCH_INTERVAL = 0.001


class ProcessTuning:
    """One app's changes to the collector and the switch interval, and how to take them back."""

    def __init__(self) -> None:
        self.quiet: tuple[tuple[int, int, int], float] | None = None  # (thresholds, switch interval) before a flood
        self.flood_seen = 0.0
        self.frozen = False  # gc.freeze() was called by this app

    def flood(self, flooding: bool) -> None:
        """During a flood: young collections every FLOOD_GC_THRESHOLD allocations and the GIL handed
        to the UI thread within FLOOD_SWITCH_INTERVAL; as before once it has been over FLOOD_GC_HOLD."""
        now = time.monotonic()
        if flooding:
            self.flood_seen = now
            if self.quiet is None:
                threshold, switch = gc.get_threshold(), sys.getswitchinterval()
                self.quiet = (threshold, switch)
                gc.set_threshold(max(FLOOD_GC_THRESHOLD, threshold[0]), *threshold[1:])
                sys.setswitchinterval(min(FLOOD_SWITCH_INTERVAL, switch))
        elif self.quiet is not None and now - self.flood_seen >= FLOOD_GC_HOLD:
            self._end_flood()

    def started(self) -> None:
        """The first full frame is drawn: what exists now (Textual, the widgets, the model) lives as
        long as the app. Frozen, the collector no longer walks it: during a log flood a full
        collection otherwise took 45-125 ms, a stall of every thread and of the keys (measured
        headless). Once per app: frozen again at a later project's first frame, the garbage of the
        project left would be frozen too, and never freed."""
        if not self.frozen:
            gc.freeze()
            self.frozen = True
        if not gc.isenabled():  # `stacktui tui` runs start-up without it
            gc.enable()

    def restore(self) -> None:
        """The app stops: the thresholds, the switch interval and the frozen objects as before it."""
        if self.quiet is not None:
            self._end_flood()
        if self.frozen:
            gc.unfreeze()
            self.frozen = False

    def _end_flood(self) -> None:
        assert self.quiet is not None
        threshold, switch = self.quiet
        gc.set_threshold(*threshold)
        sys.setswitchinterval(switch)
        self.quiet = None
