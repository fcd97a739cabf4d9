"""One follower of an engine's events for every listener (a fast unit test; the real engine's
reconnects are in test_watch.py, the TUI's shared stream in test_threads.py and test_ui_projects.py)."""
from __future__ import annotations

import queue
import threading

from stacktui.core.engine.follower import EventFollower, Subscription
from tests.waiting import until


class Stream:
    def __init__(self) -> None:
        self.items: queue.SimpleQueue = queue.SimpleQueue()

    def __iter__(self):
        while (item := self.items.get()) is not None:
            yield item

    def close(self) -> None:
        self.items.put(None)


class Engine:
    """Answers /events with streams the test feeds; `down` refuses them."""

    def __init__(self) -> None:
        self.opened: list[tuple[str | None, Stream]] = []
        self.down = False

    def events(self, project=None, actions=None):
        if self.down:
            raise ConnectionRefusedError("Connection refused")
        stream = Stream()
        self.opened.append((project, stream))
        return stream


def event(project: str, action: str = "start") -> dict:
    return {"Action": action, "Actor": {"ID": "c1", "Attributes": {"com.docker.compose.project": project}}}


class Heard:
    def __init__(self, follower: EventFollower, project: str | None, actions=None) -> None:
        self.opens, self.events, self.downs = 0, [], []
        self.sub = follower.subscribe(Subscription(self.events.append, project, on_open=self.opened,
                                                   on_down=lambda *down: self.downs.append(down), actions=actions))

    def opened(self) -> None:
        self.opens += 1


def follower_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("engine-events")]


def test_every_listener_hears_its_events_from_one_stream_and_the_threads_end_with_the_last():
    engine = Engine()
    follower = EventFollower(engine)  # type: ignore[arg-type]
    a = Heard(follower, "a")
    until(lambda: a.opens == 1, what="a told the stream is open")
    assert [p for p, _ in engine.opened] == ["a"]  # one project wanted: filtered on the engine's side
    everyone = Heard(follower, None, actions=frozenset({"start"}))
    # Someone wants every project: the stream is opened again, wider, and a lists again.
    until(lambda: everyone.opens == 1 and a.opens == 2, what="both told the wider stream is open")
    assert [p for p, _ in engine.opened] == ["a", None]
    stream = engine.opened[-1][1]
    for raw in (event("a"), event("b"), event("b", "die")):
        stream.items.put(raw)
    until(lambda: len(everyone.events) == 2, what="every project's starts")
    until(lambda: len(a.events) == 1, what="a's event")
    assert a.events == [event("a")] and everyone.events == [event("a"), event("b")]
    follower.unsubscribe(a.sub)
    assert follower.running
    follower.unsubscribe(everyone.sub, wait=5.0)
    assert not follower.running and follower_threads() == []


def test_a_lost_engine_is_retried_once_at_once_then_said_with_a_doubling_delay():
    engine = Engine()
    follower = EventFollower(engine, backoff=(0.01, 0.04))  # type: ignore[arg-type]
    heard = Heard(follower, "a")
    until(lambda: heard.opens == 1, what="the stream open")
    engine.down = True
    engine.opened[-1][1].close()  # the engine goes away
    until(lambda: len(heard.downs) >= 4, what="four failed tries said")
    assert [(attempt, delay) for _msg, delay, attempt in heard.downs[:4]] == \
        [(2, 0.01), (3, 0.02), (4, 0.04), (5, 0.04)]
    assert heard.downs[0][0] == "the engine does not answer"
    engine.down = False
    until(lambda: heard.opens == 2, what="the stream open again, and a told to list")
    follower.unsubscribe(heard.sub, wait=5.0)
    assert follower_threads() == []
