"""The log store: bounded per service, merged by engine time, drained in batches."""
from __future__ import annotations

import threading

from stacktui.core.live.logs import LogHub
from stacktui.core.engine.loglines import EVENT, LogLine
from stacktui.core.live.store import LogStore


def lines(service: str, keys: list[int]) -> list[LogLine]:
    return [LogLine(service, k, f"{service} {k}") for k in keys]


def test_each_service_keeps_only_its_newest_lines():
    store = LogStore(max_lines=100)
    store.append("a", lines("a", list(range(250))))
    store.append("b", lines("b", [1, 2]))
    assert [line.key for line in store.lines("a")] == list(range(150, 250))
    assert store.count("b") == 2
    assert store.count() == 102


def test_merged_view_interleaves_services_by_engine_time():
    store = LogStore()
    store.append("a", lines("a", [10, 30, 50]))
    store.append("b", lines("b", [20, 40]))
    store.append("a", lines("a", [35]))  # late arrival, earlier time
    assert [line.text for line in store.merged()] == ["a 10", "b 20", "a 30", "a 35", "b 40", "a 50"]
    assert [line.text for line in store.merged(["b"])] == ["b 20", "b 40"]


def test_drain_hands_over_new_lines_once_and_wakes_the_reader_once_per_batch():
    store = LogStore()
    wakes = []
    store.on_pending = lambda: wakes.append(1)
    store.append("a", lines("a", [1, 2]))
    store.append("b", lines("b", [3]))
    assert len(wakes) == 1  # the reader is already due to drain
    pending, overflowed = store.drain()
    assert [line.text for line in pending] == ["a 1", "a 2", "b 3"] and not overflowed
    assert store.drain() == ([], False)
    store.append("a", lines("a", [4]))
    assert len(wakes) == 2


def test_a_reader_that_falls_behind_is_told_to_redraw_instead_of_growing_memory():
    store = LogStore(max_lines=50, pending_limit=100)
    for i in range(10):
        store.append("a", lines("a", list(range(i * 20, i * 20 + 20))))
    pending, overflowed = store.drain()
    assert overflowed and pending == []
    assert store.count("a") == 50


def test_appends_from_many_threads_lose_nothing():
    store = LogStore(max_lines=100_000)

    def writer(name: str) -> None:
        for i in range(200):
            store.append(name, lines(name, [i]))

    threads = [threading.Thread(target=writer, args=(f"s{i}",)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    pending, _ = store.drain()
    assert len(pending) == 1600
    for i in range(8):
        assert [line.key for line in store.lines(f"s{i}")] == list(range(200))


class _NoEngine:
    socket_path = None


def test_engine_events_become_marked_lines_in_the_services_log():
    store = LogStore()
    hub = LogHub(_NoEngine(), store)  # no followers started: only events
    hub.on_event("die", "mcp-server", "abc", 5, "137")
    hub.on_event("health_status", "mcp-server", "abc", 6, "unhealthy")
    hub.on_event("exec_start", "mcp-server", "abc", 7)
    got = store.lines("mcp-server")
    # Written out here, not built with marker_text: this is the line the user reads.
    assert [(line.text, line.stream) for line in got] == [
        ("\u2500\u2500 container exited (code 137) \u2500\u2500", EVENT),
        ("\u2500\u2500 health: unhealthy \u2500\u2500", EVENT)]
    assert [line.key for line in got] == [5, 6]
