"""Layout changes as `b`, `s`, `u` and `stacktui layout separate|shared|undo` reach them: prepare, then apply.

Preparing never writes: it yields a LayoutChange whose diff the user confirms;
apply_change writes it, brings the touched services up from it and checks
them, or puts file and containers back (core/layout/apply.py). Reading the
layout and its history is ops/layout_show.py, which needs none of this.
"""
from __future__ import annotations

from stacktui.core.layout.apply import ApplyEvent, ApplyResult, apply_change, ask_compose
from stacktui.core.errors import PortsUnknown
from stacktui.core.layout.edit import LayoutChange
from stacktui.core.layout.history import prepare_undo
from stacktui.core.layout.prepare import prepare_separate, prepare_shared
from stacktui.core.layout.whoseports import EngineSource

__all__ = ["ApplyEvent", "ApplyResult", "EngineSource", "LayoutChange", "PortsUnknown", "apply_change", "ask_compose",
           "prepare_separate", "prepare_shared", "prepare_undo"]

