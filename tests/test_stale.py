"""Stale-namespace verdicts from engine facts (unit tests; the real engine is in test_restart_engine.py)."""
from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from stacktui.core.compose.discovery import resolve_target
from stacktui.core.engine.client import ContainerInfo
from stacktui.core.loader import load_project
from stacktui.core.health.stale import find_stale, namespace_of
from stacktui.core.health.verdict import namespace_mates, stack_verdict

ROOT = Path(__file__).resolve().parent.parent
T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def chain():
    return load_project(resolve_target(files=[ROOT / "compose" / "chain" / "compose.yaml"], project_name="pc"))


def box(service: str, cid: str, started: int, joined: str | None = None, *, state: str = "running",
        pid: int = 0, ipc_joined: str | None = None) -> ContainerInfo:
    return ContainerInfo(
        id=cid, name=f"pc-{service}-1", project="pc", service=service, number=1, state=state, exit_code=0,
        oom_killed=False, health="healthy", health_output=None, started_at=T0 + timedelta(seconds=started),
        finished_at=None, network_mode=f"container:{joined}" if joined else "bridge",
        ipc_mode=f"container:{ipc_joined}" if ipc_joined else "shareable", pid_mode="", pid=pid, restart_count=0)


def healthy_chain(gateway_started: int = 0) -> list[ContainerInfo]:
    return [box("gateway", "g1", gateway_started), box("api", "a1", 10, "g1", ipc_joined="g1"),
            box("worker", "w1", 20, "a1"), box("client", "c1", 5)]


def test_a_fresh_chain_is_not_stale(chain):
    assert find_stale(chain, healthy_chain(), proc=None) == {}


def test_c_joins_b_joins_a_a_raw_restart_of_a_strands_both(chain):
    verdicts = find_stale(chain, healthy_chain(gateway_started=30), proc=None)
    assert set(verdicts) == {"api", "worker"}
    assert "gateway restarted at" in verdicts["api"].reason
    # worker's own owner never restarted; it is stranded through api.
    assert verdicts["worker"].owner == "api"
    assert verdicts["worker"].reason.startswith("joined api, which is itself stale")


def test_a_plan_whose_services_are_left_stale_is_not_done_and_names_the_repair(chain):
    """The verdict is a plan's last word (the gates judged each step as it went; something may have changed
    since): a touched service in a dead namespace makes it "not done", with the restart that repairs it."""
    touched = ["gateway", "api", "worker"]
    verdict = stack_verdict(chain, healthy_chain(gateway_started=30), touched, proc=None)
    assert not verdict.ok
    assert verdict.failing == ["api", "worker"]
    text = verdict.text()
    assert text.startswith("not done: api is stale (gateway restarted at "), text
    assert "restart api into its owner's current namespace (stacktui restart api)" in text
    # worker's own owner is api, itself stale: its repair starts at api, not at worker.
    assert "worker is stale (joined api, which is itself stale" in text
    assert "restart from api, the highest stale link above worker" in text
    fine = stack_verdict(chain, healthy_chain(), touched, proc=None)
    assert fine.ok and fine.text() == ("verified: gateway, api, worker running, in their owners' current "
                                       "namespaces")


def test_a_change_to_an_owner_is_judged_on_its_well_joiners_too(chain):
    """A layout change recreates `services`; its "done" also asks about the services sharing a namespace
    with them (a recreated owner strands joiners left alone), but not about one already unwell."""
    assert namespace_mates([chain], healthy_chain(), ["gateway"], proc=None) == ["api", "worker"]
    assert namespace_mates([chain], healthy_chain(), ["worker"], proc=None) == ["gateway", "api"]
    assert namespace_mates([chain], healthy_chain(), ["client"], proc=None) == []  # a namespace of its own
    stranded = healthy_chain(gateway_started=30)  # api and worker already stale before the change
    assert namespace_mates([chain], stranded, ["client"], proc=None) == []
    assert namespace_mates([chain], stranded, ["gateway"], proc=None) == []
    stopped = healthy_chain()
    stopped[2] = box("worker", "w1", 20, "a1", state="exited")
    assert namespace_mates([chain], stopped, ["gateway"], proc=None) == ["api"]


def test_recreated_or_stopped_owner(chain):
    recreated = healthy_chain()
    recreated[0] = box("gateway", "g2", 0)
    v = find_stale(chain, recreated, proc=None)
    assert "joined network namespace of container g1, but gateway is now g2" in v["api"].reason
    stopped = healthy_chain()
    stopped[0] = box("gateway", "g1", 0, state="exited")
    assert find_stale(chain, stopped, proc=None)["api"].reason == "its network namespace owner gateway is not running"


def fake_proc(root: Path, pid: int, cid: str, net: str, ipc: str) -> None:
    d = root / str(pid)
    (d / "ns").mkdir(parents=True)
    (d / "cgroup").write_text(f"0::/docker/{cid}\n")
    os.symlink(f"net:[{net}]", d / "ns" / "net")
    os.symlink(f"ipc:[{ipc}]", d / "ns" / "ipc")


def test_namespace_inodes_decide_when_this_machine_can_read_them(chain, tmp_path):
    containers = [box("gateway", "g1", 30, pid=11), box("api", "a1", 10, "g1", pid=12, ipc_joined="g1"),
                  box("worker", "w1", 20, "a1", pid=13), box("client", "c1", 5, pid=14)]
    # Same namespaces although gateway's clock says it started later: the kernel wins, nothing is stale.
    for pid, cid in ((11, "g1"), (12, "a1"), (13, "w1")):
        fake_proc(tmp_path, pid, cid, "111", "222")
    assert find_stale(chain, containers, proc=str(tmp_path)) == {}

    # api and worker still share the old network namespace; gateway has a new one.
    other = tmp_path / "other"
    fake_proc(other, 11, "g1", "999", "222")
    fake_proc(other, 12, "a1", "111", "222")
    fake_proc(other, 13, "w1", "111", "222")
    v = find_stale(chain, containers, proc=str(other))
    assert v["api"].reason.startswith("its network namespace net:[111] is not gateway's net:[999]")
    assert v["worker"].reason.startswith("joined api, which is itself stale")


def test_a_pid_that_is_not_the_container_is_not_trusted(tmp_path):
    fake_proc(tmp_path, 11, "someone-else", "111", "222")
    assert namespace_of(box("gateway", "g1", 0, pid=11), "network", str(tmp_path)) is None
    fake_proc(tmp_path, 12, "g1", "111", "222")
    assert namespace_of(box("gateway", "g1", 0, pid=12), "network", str(tmp_path)) == "net:[111]"
    assert namespace_of(box("gateway", "g1", 0, pid=12, state="exited"), "network", str(tmp_path)) is None
