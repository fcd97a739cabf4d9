"""The app's process-wide settings (collector thresholds, switch interval, frozen objects) are
changed only while they pay, and the process has them back once the app stops."""
from __future__ import annotations

import gc
import sys

from tests.test_ui_logpane import app_with, mcp


async def test_a_flood_tunes_the_interpreter_and_the_app_stopping_gives_it_back():
    before = (gc.get_threshold(), sys.getswitchinterval(), gc.get_freeze_count())
    app = app_with([])
    during = None
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.tuning.frozen  # the first frame froze what lives as long as the app
        app.store.append("mcp-server", [mcp(i) for i in range(3000)])  # flood-sized
        app.flush_logs_now()
        during = (gc.get_threshold(), sys.getswitchinterval())
        assert app.pane.visible_lines()[-1] == "line 2999"
    assert during[0][0] > before[0][0] and during[1] < before[1]  # the flood did change them
    assert (gc.get_threshold(), sys.getswitchinterval(), gc.get_freeze_count()) == before
