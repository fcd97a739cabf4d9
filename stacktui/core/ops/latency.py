"""`stacktui latency` and the figures beside a layout change: the measurement, as both faces call it."""
from __future__ import annotations

from stacktui.core.latency.compare import Comparison, compare_layouts
from stacktui.core.latency.figures import LatencyReport, PathResult
from stacktui.core.latency.measure import DEFAULT_COUNT, DEFAULT_TIMEOUT, measure

__all__ = ["Comparison", "DEFAULT_COUNT", "DEFAULT_TIMEOUT", "LatencyReport", "PathResult", "compare_layouts",
           "measure"]
