"""The healer's rules that need no engine: backoff arithmetic, refused starts, where probes may go."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from stacktui.core.compose.model import Extension, PortSpec, Project, ServiceSpec
from stacktui.core.heal.backoff import Backoff
from stacktui.core.heal.strand import foreign_probes, owner_chain, probe_is_local, refused_start, without_foreign_probes


def test_backoff_doubles_while_the_owner_keeps_dying_then_gives_up_until_it_settles():
    b = Backoff(first=1, cap=300, settle=10, max_attempts=4)
    assert b.due("vscode", 100.0, 99.0) == 100.0  # the first heal is immediate
    waits = []
    now = 100.0
    for _ in range(3):
        b.record("vscode", now, ok=True)
        b.owner_died("vscode", now + 0.5)  # dies half a second after its joiners were healed
        due = b.due("vscode", now + 0.6, now + 0.6)
        waits.append(due - now)
        now = due
    assert waits == [1, 2, 4]
    b.record("vscode", now, ok=False)
    assert b.due("vscode", now + 100, now + 99.5) is None, "four in a row: given up"
    assert b.due("vscode", now + 120, now + 105) == now + 120, "up 15 s in one go: settled, healing again"
    assert b.attempts("vscode") == 0


def test_backoff_is_capped_and_a_quiet_owner_starts_a_new_streak():
    b = Backoff(first=1, cap=5, settle=10, max_attempts=50)
    assert b.delay(1) == 1 and b.delay(3) == 4 and b.delay(10) == 5
    b.record("gw", 0.0, ok=True)
    assert b.due("gw", 30.0, 29.0) == 30.0, "it did not die soon after the heal: no streak"
    b.record("gw", 30.0, ok=False)
    assert b.due("gw", 30.5, 30.2) == 31.0, "a failed heal continues the streak"


def test_refused_starts_are_the_engines_namespace_errors_only():
    assert refused_start("cannot join network of a non running container: 0123abcd")
    assert refused_start("No such container: 0123abcd")
    assert refused_start("Container 0123 is restarting, wait until the container is running")
    assert not refused_start("")
    assert not refused_start("OCI runtime create failed: exec: \"sh\": not found")


def _project(**health: str) -> Project:
    services = {
        "vscode": ServiceSpec("vscode", ports=[PortSpec(9001, "19001", "127.0.0.1")]),
        "mcp": ServiceSpec("mcp", network_mode="service:vscode", ipc="service:vscode",
                           x=Extension(health=health.get("mcp"))),
        "worker": ServiceSpec("worker", network_mode="service:mcp", x=Extension(health=health.get("worker"))),
    }
    return Project("p", Path("."), [], services)


def test_probes_go_to_the_stack_only():
    p = _project()
    assert probe_is_local(p, "http://vscode:9001/health")
    assert probe_is_local(p, "http://127.0.0.1:19001/health")
    assert probe_is_local(p, "http://localhost:19001/health")
    assert not probe_is_local(p, "http://127.0.0.2:19001/health"), "another loopback address is another host"
    assert not probe_is_local(p, "http://127.0.0.1:8080/"), "a port the stack does not publish"
    assert not probe_is_local(p, "https://example.com/health")
    assert not probe_is_local(p, "http://169.254.169.254/latest/meta-data/")


def test_foreign_probe_urls_are_left_out_of_the_healers_gates_only():
    p = _project(mcp="http://vscode:9001/health", worker="http://10.0.0.7/health")
    assert foreign_probes(p) == {"worker": "http://10.0.0.7/health"}
    safe = without_foreign_probes(p)
    assert safe.services["worker"].x.health is None and safe.services["mcp"].x.health == "http://vscode:9001/health"
    assert p.services["worker"].x.health == "http://10.0.0.7/health", "the project itself is unchanged"
    assert owner_chain(p, "worker") == ["mcp", "vscode"]


def _container(service: str, cid: str, state: str, started: int, finished: int = 0, net: str = "") -> Any:
    from datetime import datetime, timezone

    from stacktui.core.engine.client import ContainerInfo

    at = lambda s: datetime.fromtimestamp(1_700_000_000 + s, timezone.utc) if s else None  # noqa: E731
    return ContainerInfo(id=cid, name=f"p-{service}-1", project="p", service=service, number=1, state=state,
                         exit_code=0, oom_killed=False, health=None, health_output=None, started_at=at(started),
                         finished_at=at(finished), network_mode=net, ipc_mode="", pid_mode="",
                         pid=0, restart_count=0)


def test_stopped_joiners_are_stranded_only_when_the_engine_refused_them_or_a_heal_owes_them_a_start():
    from stacktui.core.heal.strand import find_stranded

    p = _project()
    p.services["mcp"].ipc = None
    owner = _container("vscode", "v1", "running", started=100)
    mcp = _container("mcp", "m1", "exited", started=10, finished=50, net="container:v1")
    worker = _container("worker", "w1", "exited", started=10, finished=50, net="container:m1")
    found = find_stranded(p, [owner, mcp, worker], {}, proc=None)
    assert found == {}, "stopped by hand: no error, nothing owed"
    found = find_stranded(p, [owner, mcp, worker], {"m1": "runc create failed: can't get final child's PID"},
                          proc=None, owed=frozenset({"w1"}))
    assert found["mcp"].how == "failed" and found["mcp"].healable, "its start failed before vscode came back"
    assert found["worker"].reason == "an unfinished heal stopped it with its owner" and found["worker"].healable
    late = _container("mcp", "m1", "exited", started=10, finished=150, net="container:v1")
    assert find_stranded(p, [owner, late, worker], {"m1": "exec: not found"}, proc=None) == {}, \
        "a failure of its own after the owner's start is not the owner's doing"


def test_one_plain_marker_line_per_heal_action():
    from stacktui.core.heal import events as ev
    from stacktui.core.heal.events import HealEvent
    from stacktui.core.heal.markers import HealMarkers

    m = HealMarkers()
    assert m.feed(HealEvent(ev.STALE, "p", "mcp-server", "vscode", "in vscode's old namespace")) is None
    assert m.feed(HealEvent(ev.HEAL_STARTED, "p", "mcp-server", "vscode", "recreate mcp-server; because x")) is None
    done = m.feed(HealEvent(ev.HEAL_DONE, "p", "mcp-server", "vscode", "mcp-server back in 0.61 s", 0.61))
    assert done is not None and done.service == "mcp-server" and not done.failed
    assert done.text == "[heal] mcp-server stranded (vscode recreated) -> recreated, healthy in 0.61 s"
    m.feed(HealEvent(ev.HEAL_STARTED, "p", "api", "gateway", "restart api"))
    failed = m.feed(HealEvent(ev.HEAL_FAILED, "p", "api", "gateway", "gate timed out:\n\x1b[31mred\x1b[0m"))
    assert failed is not None and failed.failed and "\n" not in failed.text and "\x1b" not in failed.text
    assert failed.text.startswith("[heal] api stranded (gateway restarted) -> restart failed: gate timed out: ")
    backoff = m.feed(HealEvent(ev.BACKOFF, "p", None, "gateway", "gateway keeps dying: waits 2 s"))
    assert backoff is not None and backoff.service == "gateway"
    assert backoff.text == "[heal] gateway keeps dying: waits 2 s"
    unhealthy = [m.feed(HealEvent(ev.HEAL_STARTED, "p", "web", None, "restart web")),
                 m.feed(HealEvent(ev.HEAL_DONE, "p", "web", None, "web back in 1.00 s", 1.0))]
    assert unhealthy[1] is not None and unhealthy[1].text == "[heal] web unhealthy -> restarted, healthy in 1.00 s"


def test_unhealthy_counts_consecutive_checks_of_one_container_and_restarts_go_through_the_backoff():
    from stacktui.core.health.status import HEALTHY, UNHEALTHY, ServiceStatus
    from stacktui.core.heal.unhealthy import UnhealthyCount

    def row(health: str, cid: str = "c1") -> ServiceStatus:
        return ServiceStatus("web", "running", health, container_id=cid)

    u = UnhealthyCount(3, Backoff(first=1, cap=300, settle=10, max_attempts=2))
    assert u.see([row(UNHEALTHY)], 0.0) == ([], []) and u.see([row(UNHEALTHY)], 1.0) == ([], [])
    assert u.see([row(HEALTHY)], 2.0) == ([], []), "a good check starts the count again"
    assert u.see([row(UNHEALTHY, "c2")], 3.0)[0] == [] and u.see([row(UNHEALTHY, "c3")], 4.0)[0] == [], \
        "another container: counted afresh"
    u.see([row(UNHEALTHY, "c3")], 5.0)
    reached, over = u.see([row(UNHEALTHY, "c3")], 6.0)
    assert [r.container_id for r in reached] == ["c3"] and len(over) == 1
    reached, over = u.see([row(UNHEALTHY, "c3")], 7.0)
    assert reached == [] and len(over) == 1, "reported once per episode, still a candidate"
    assert u.backoff.due("web", 7.0, None) == 7.0, "the first restart is immediate"
    u.restarted("web")
    u.backoff.record("web", 8.0, ok=True)
    for t in (9.0, 10.0, 11.0):  # unhealthy again 1 s after the restart ended: the restart did not help
        u.see([row(UNHEALTHY, "c3")], t)
    assert u.backoff.due("web", 11.0, None) == 9.0, "the second waits 1 s after the first"
    u.restarted("web")
    u.backoff.record("web", 12.0, ok=True)
    for t in (13.0, 14.0, 15.0):
        u.see([row(UNHEALTHY, "c3")], t)
    assert u.backoff.due("web", 15.0, None) is None, "two in a row: given up"
    for t in range(16, 27):
        u.see([row(HEALTHY, "c3")], float(t))
    assert u.backoff.attempts("web") == 0, "healthy 10 s in one go: a new streak"


def test_a_refused_file_is_one_event_with_file_line_and_reason_in_both_outputs(tmp_path):
    from stacktui.core.errors import ConfigError, SourceRef
    from stacktui.core.heal.files import refused

    error = ConfigError("YAML aliases expand beyond the limit", where=SourceRef(tmp_path / "compose.yaml", 7),
                        hint="nothing was passed to Compose")
    event = refused("demo", error)
    data = event.to_json()
    assert (data["event"], data["project"], data["file"], data["line"]) == \
        ("refused", "demo", str(tmp_path / "compose.yaml"), 7)
    assert data["reason"].startswith("YAML aliases expand beyond the limit (nothing was passed to Compose); nothing")
    line = event.text()
    assert f" refused      demo: {tmp_path / 'compose.yaml'}:7: YAML aliases expand beyond the limit (" in line
    from stacktui.core.heal.events import HealEvent

    assert "file" not in HealEvent("stale", "demo", "mcp-server").to_json(), "other events keep their keys"
