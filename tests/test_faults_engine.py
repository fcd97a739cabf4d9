"""The engine stops in the middle of things, then comes back (issue 9, case 1).

Each test runs on the fault engine (tests/faults_support.py), never on the shared one: it
is stopped the way `systemctl stop docker` does it (SIGTERM: dockerd stops its containers,
then exits) and started again by the test.
"""
from __future__ import annotations

import json
import re
import signal

from tests.faults_support import (DATA, SLOWGATE_PORTS, FaultEngine, fault_engine, fault_stacks,  # noqa: F401
                                  slow_owner, temp_files, until)


def interrupt_removal(engine: FaultEngine, project: str, service: str) -> str:
    """With the engine stopped, mark the service's container (the one by Compose's name, which `up` would
    start) as the engine marks a container it has begun to remove: RemovalInProgress in its stored state.
    Its id."""
    name = f"/{project}-{service}-1"
    for config in (engine.private.cache / "data" / "containers").glob("*/config.v2.json"):
        data = json.loads(config.read_text())
        if data.get("Name") == name:
            data["State"]["RemovalInProgress"] = True
            config.write_text(json.dumps(data))
            return str(data["ID"])
    raise AssertionError(f"no stored container named {name}")


def test_restart_plan_reports_the_step_the_engine_vanished_in_and_runs_nothing_after(fault_stacks, fault_engine):
    stack = fault_stacks(DATA / "slowgate", SLOWGATE_PORTS)
    slow_owner(stack, 20)  # the stop below ends the wait; under load dockerd takes seconds to go
    run = stack.spawn("restart", "owner", "--timeout", "60")
    run.wait_for("[1/2]   waiting for running, healthy")  # owner restarted; healthy only in 20 s
    # Shutting down, dockerd first stops its containers; a gate that looked then would see the owner
    # exit (a failure too, but not this one). The plan is frozen while the engine goes, so when it
    # looks again the engine is simply gone.
    run.signal(signal.SIGSTOP, group=True)
    try:
        fault_engine.stop()
    finally:
        run.signal(signal.SIGCONT, group=True)
    code = run.finish(timeout=19)  # before owner would be healthy: the outage ends the plan at once
    out = run.stdout

    assert code == 1, out + run.stderr
    assert "Traceback" not in run.stderr
    failed = next((line for line in out.splitlines() if line.startswith("[1/2] FAILED: step 1/2 owner: ")), "")
    reason = re.sub(r" \(after [\d.]+ s\)$", "", failed)  # the gate's elapsed time, when it names one
    assert reason == (f"[1/2] FAILED: step 1/2 owner: the Docker engine at {fault_engine.host} stopped answering "
                      "while waiting for its gates"), out
    assert "not run: joiner" in out
    assert "[2/2]" not in out, "no step after the failed one was started"
    assert "done:" not in out

    # The engine comes back: the plan is over, it does not pick up where it was.
    fault_engine.start()
    engine = fault_engine.client()
    try:
        states = {c.service: c.state for c in engine.project_containers(stack.name)}
        assert states == {"owner": "exited", "joiner": "exited"}, "stopped by the engine's shutdown, not restarted"
    finally:
        engine.close()


def test_layout_apply_cut_by_the_engine_puts_the_file_back_and_says_the_containers_are_not(fault_stacks,
                                                                                       fault_engine):
    """Guarantee: when an apply fails, for any reason, the file is the old one, byte for byte.

    The containers cannot be put back while the engine is away; stacktui says so and names the
    command that brings them to the file, and that command does.
    """
    stack = fault_stacks(DATA / "slowgate", SLOWGATE_PORTS)
    engine = fault_engine.client()
    before = {c.service: c.id for c in engine.project_containers(stack.name)}
    old = stack.file.read_bytes()
    slow_owner(stack, 20)

    run = stack.spawn("layout", "separate", "joiner", "--yes", "--timeout", "30")
    run.wait_for("up: compose up owner joiner")
    # Compose is recreating: the new owner exists and takes 20 s to become healthy.
    until(lambda: any(c.service == "owner" and c.id != before["owner"] for c in engine.project_containers(stack.name)),
          20, "the recreated owner")
    engine.close()
    fault_engine.stop()
    code = run.finish(timeout=60)
    err = run.stderr

    assert code == 1, run.stdout + err
    assert "Traceback" not in err
    assert "stacktui: layout change failed at" in err
    assert "stopped answering" in err or "Cannot connect to the Docker daemon" in err
    assert "stacktui: ROLLBACK INCOMPLETE:" in err
    assert f"compose.yaml is as it was, the containers are not: once the engine answers, " \
           f"`docker compose up -d --force-recreate owner joiner` in {stack.dir} brings them back to it" in err
    assert stack.file.read_bytes() == old
    assert temp_files(stack.dir) == []

    # A stop in the middle of a removal (Compose's recreation removes the old containers) leaves that
    # container Dead once the engine is back, for good: Docker cannot know whether its volumes were to go
    # too. Which moment the stop above caught varies, so one container is marked, while the engine is
    # down, as the engine marks one it begins to remove: every run then meets a Dead container.
    cut_short = interrupt_removal(fault_engine, stack.name, "owner")
    fault_engine.start()
    history = stack.stacktui("layout", "history")
    assert "separate  compose.yaml  separate joiner from owner" in history.stdout
    assert "(rolled back: the apply failed)" in history.stdout
    assert "rollback  compose.yaml  rollback of #1" in history.stdout

    slow_owner(stack, None)
    engine = fault_engine.client()
    try:
        assert engine.api.inspect_container(cut_short)["State"]["Dead"], "what a user sees: Dead in docker ps -a"
    finally:
        engine.close()
    # The command it named. A plain `up` fails where the Dead container is one it would start (its
    # configuration still the file's): "container is marked for removal and cannot be started".
    stack.compose("up", "-d", "--force-recreate", "--wait", "--wait-timeout", "60", "owner", "joiner")
    engine = fault_engine.client()
    try:
        assert not any(c.state == "dead" for c in engine.project_containers(stack.name))
        now = {c.service: c for c in engine.project_containers(stack.name)}
        assert now["joiner"].network_mode == f"container:{now['owner'].id}", "the old layout, as the file says"
        assert now["owner"].state == now["joiner"].state == "running"
    finally:
        engine.close()
