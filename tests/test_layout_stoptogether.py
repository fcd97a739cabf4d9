"""A layout's Compose call has its old containers stopped together once Compose stops the first.

Two bare containers labelled as one project's stand in for a call's old containers; the test
plays Compose by stopping one of them itself (its kill event is what the helper waits for).
"""
from __future__ import annotations

import uuid

from stacktui.core.engine.client import Engine
from stacktui.core.layout.stoptogether import StopTogether
from tests.waiting import until

CMD = ["sh", "-c", "trap 'exit 0' TERM INT; while :; do sleep 1 & wait $!; done"]


def _pair(engine: Engine, image: str, project: str) -> list:
    return [engine.client.containers.run(image, CMD, detach=True, network_mode="none", stop_signal="SIGTERM",
                                         labels={"com.docker.compose.project": project,
                                                 "com.docker.compose.service": service,
                                                 "com.docker.compose.container-number": "1",
                                                 "stacktui.test": "stop-together"})
            for service in ("owner", "joiner")]


def test_the_first_stop_of_a_calls_containers_stops_the_others_and_none_is_stopped_before(engine: Engine,
                                                                                         demo_image: str) -> None:
    project = f"stktogether{uuid.uuid4().hex[:8]}"
    made = _pair(engine, demo_image, project)
    try:
        state = lambda c: engine.inspect_raw(c.id)["State"]["Status"]  # noqa: E731
        old = engine.project_containers(project)
        with StopTogether(engine, project, old, ["owner", "joiner"]):
            pass  # a call refused before it stops anything
        assert [state(c) for c in made] == ["running", "running"]

        with StopTogether(engine, project, old, ["owner", "joiner"]) as together:
            engine.stop(made[1].id, 10)  # Compose stops the joiner first
            until(lambda: state(made[0]) == "exited", 20, "the owner stopped along with the joiner", step=0.05)
        assert together.stopped == [made[0].id]
        assert [state(c) for c in made] == ["exited", "exited"]
    finally:
        for c in made:
            c.remove(force=True)


def test_a_call_of_one_running_container_watches_nothing(engine: Engine, demo_image: str) -> None:
    project = f"stktogether{uuid.uuid4().hex[:8]}"
    made = _pair(engine, demo_image, project)
    try:
        old = engine.project_containers(project)
        with StopTogether(engine, project, old, ["joiner"]) as together:
            engine.stop(made[1].id, 10)
        assert together.stopped == []
        assert engine.inspect_raw(made[0].id)["State"]["Status"] == "running"
    finally:
        for c in made:
            c.remove(force=True)
