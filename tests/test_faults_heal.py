"""Self-heal across a restart of the Docker daemon itself (issue 14), on the fault engine.

On its way up the engine starts the containers that have restart policies. Measured with
dockerd 20.10: when both owner and joiner have one, it usually starts the owner first and the
joiner joins its new namespace (nothing is stranded), but the starts run side by side, and with
the cores busy the joiner's may come first (1 run in 4 here) and fail as it always does when
only the joiner has a policy: "cannot join network of a non running container", and it stays
down. Such starts send no event: the watcher sees the engine return, looks at everything,
reports the joiner, and heals it as soon as the owner is started. Run under `flock /tmp/stacktui-faults.lock` (the fault engine's bridge).
"""
from __future__ import annotations

import subprocess

from stacktui.core.health.stale import find_stale
from stacktui.core.loader import load_project
from tests.faults_support import fault_engine, fault_stacks, until  # noqa: F401
from tests.test_heal import POLICY, POLICY_PORTS, answers, events, wait_event

NOT_STARTED = "the engine could not start it: cannot join network of a non running container"


def test_after_a_daemon_restart_the_joiner_refused_a_start_is_reported_and_healed_once_its_owner_runs(fault_stacks, fault_engine):
    stack = fault_stacks(POLICY, POLICY_PORTS, up=False)
    env = stack.dir / ".env"
    env.write_text(env.read_text() + "OWNER_RESTART=no\n")  # the joiner has a restart policy, the owner none
    stack.up()
    run = stack.spawn("watch", "--heal", "--json")
    try:
        wait_event(run, "watching")
        fault_engine.stop()
        lost = wait_event(run, "engine_lost", timeout=60)
        assert "does not answer" in lost["reason"] or "closed" in lost["reason"], lost
        fault_engine.start()
        wait_event(run, "engine_back", timeout=60)
        stale = wait_event(run, "stale", "joiner", timeout=60)
        assert "cannot join network of a non running container" in stale["reason"]
        assert stale["reason"].endswith("healing once owner runs")
        assert not [e for e in events(run) if e["event"] == "heal_started"], "nothing to do while owner is down"
        subprocess.run(["docker", "start", f"{stack.name}-owner-1"], env=fault_engine.env(), check=True,
                       capture_output=True, timeout=60)
        done = wait_event(run, "heal_done", "joiner", timeout=60)
        assert stale["owner"] == done["owner"] == "owner"
        assert answers(stack.ports["HEAL_JOINER_PORT"]) and answers(stack.ports["HEAL_OWNER_PORT"])
        engine = fault_engine.client()
        try:
            project = load_project(stack.target())
            assert find_stale(project, engine.project_containers(stack.name)) == {}
        finally:
            engine.close()
    finally:
        run.signal(15)
        code = run.finish(timeout=90)
    assert code == 0, run.stderr
    kinds = [e["event"] for e in events(run)]
    assert kinds.index("engine_lost") < kinds.index("engine_back") < kinds.index("heal_done")


def test_after_a_daemon_restart_the_watcher_touches_only_what_the_engines_own_start_left_down(fault_stacks, fault_engine):
    stack = fault_stacks(POLICY, POLICY_PORTS)  # owner and joiner both with restart policies
    run = stack.spawn("watch", "--heal", "--json")
    try:
        wait_event(run, "watching")
        engine = fault_engine.client()
        before = {c.service: c.id for c in engine.project_containers(stack.name)}
        engine.close()
        fault_engine.stop()
        wait_event(run, "engine_lost", timeout=60)
        fault_engine.start()
        wait_event(run, "engine_back", timeout=60)
        assert until(lambda: answers(stack.ports["HEAL_JOINER_PORT"]), 30, "the joiner through the owner's port")
    finally:
        run.signal(15)
        code = run.finish(timeout=90)
    assert code == 0, run.stderr
    acted = [(e["event"], e["service"]) for e in events(run) if e["event"] not in ("watching", "engine_lost", "engine_back")]
    said = "\n".join(str(e) for e in events(run))
    healed = any(e["event"] == "stale" and NOT_STARTED in e["reason"] for e in events(run))
    if healed:
        # The engine's own start of the joiner came before the owner's and failed: the restart did strand
        # it, and one heal of it is the answer.
        assert acted == [("stale", "joiner"), ("heal_started", "joiner"), ("heal_done", "joiner")], said
    else:
        # The look engine_back asks for takes milliseconds; the joiner answering took longer: nothing to do.
        assert acted == [], said
    engine = fault_engine.client()
    try:
        now = {c.service: c.id for c in engine.project_containers(stack.name)}
    finally:
        engine.close()
    # The engine restarts its containers in place, and the heal of a joiner that never started starts it in
    # place too (its owner is the same container): nothing is recreated either way.
    assert now == before, (before, now, said)
