"""Restart plans without an engine, and the executor's decisions against a small fake engine (fast unit tests;
the real engine shows the same behaviour end to end in test_restart_engine.py)."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from tests.usercli import STACKTUI, cli_env

from stacktui.core.compose.discovery import resolve_target
from stacktui.core.engine.client import ContainerInfo
from stacktui.core.errors import Busy, ConfigError
from stacktui.core.lock import project_lock
from stacktui.core.loader import load_project
from stacktui.core.restart.plan import (RECREATE, RESTART, build_full_plan, build_plan, execute, grace_seconds,
                                   needs_recreate)

ROOT = Path(__file__).resolve().parent.parent
T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def demo():
    return load_project(resolve_target(files=[ROOT / "compose" / "demo" / "compose.yaml"], project_name="pd"))


@pytest.fixture(scope="module")
def chain():
    return load_project(resolve_target(files=[ROOT / "compose" / "chain" / "compose.yaml"], project_name="pc"))


def box(service: str, cid: str, *, joined: str | None = None, state: str = "running", ipc: str | None = None,
        started: int = 0) -> ContainerInfo:
    return ContainerInfo(
        id=cid, name=f"p-{service}-1", project="p", service=service, number=1, state=state, exit_code=0,
        oom_killed=False, health=None, health_output=None, started_at=T0 + timedelta(seconds=started),
        finished_at=None, network_mode=f"container:{joined}" if joined else "bridge",
        ipc_mode=f"container:{ipc or joined}" if (ipc or joined) else "private", pid_mode="", pid=0,
        restart_count=0)


def test_plans_in_order_with_gates_and_reasons(demo, chain):
    plan = build_plan(demo, ["vscode"])
    assert [(s.service, s.action, s.waits_for) for s in plan.steps] == [
        ("vscode", RESTART, ["running", "healthy"]),
        ("mcp-server", RESTART, ["running", "healthy", "probe http://vscode:9001/health"]),
    ]
    assert plan.steps[1].reason == "mcp-server joins vscode's network namespace"
    assert [s.service for s in build_plan(chain, ["gateway"]).steps] == ["gateway", "api", "worker"]
    assert [s.service for s in build_plan(chain, ["worker", "gateway"]).steps] == ["gateway", "api", "worker"]
    assert [s.service for s in build_full_plan(demo).steps] == ["vscode", "mcp-server", "backend"]


def test_unknown_or_missing_services_are_usage_errors(demo):
    with pytest.raises(ConfigError) as err:
        build_plan(demo, ["vscod"])
    assert "unknown service 'vscod'" in str(err.value) and "mcp-server" in str(err.value)
    with pytest.raises(ConfigError):
        build_plan(demo, [])


def test_recreate_when_the_owner_has_a_new_id_or_a_service_has_no_container(demo):
    same = [box("vscode", "v1"), box("mcp-server", "m1", joined="v1"), box("backend", "b1")]
    assert needs_recreate(demo, "mcp-server", same) is None
    assert [s.action for s in build_plan(demo, ["vscode"], same).steps] == [RESTART, RESTART]

    recreated = [box("vscode", "v2"), box("mcp-server", "m1", joined="v1"), box("backend", "b1")]
    assert "joined container v1, which is no longer vscode's" in needs_recreate(demo, "mcp-server", recreated)
    assert [s.action for s in build_plan(demo, ["vscode"], recreated).steps] == [RESTART, RECREATE]

    gone = [box("mcp-server", "m1", joined="v1"), box("backend", "b1")]
    plan = build_plan(demo, ["vscode"], gone)
    assert [(s.action, s.note) for s in plan.steps] == [
        (RECREATE, "vscode has no container"), (RECREATE, "vscode gets a new container first")]


def test_stop_grace_period_in_compose_duration_forms(demo, monkeypatch):
    raw = demo.services["vscode"].raw  # the module's project: monkeypatch puts it back even on a failure
    for value, seconds in ((None, 10), ("1m30s", 90), ("500ms", 0), ("2s", 2), (3, 3)):
        monkeypatch.setitem(raw, "stop_grace_period", value)
        assert grace_seconds(demo, "vscode") == seconds


class FakeEngine:
    """Just enough of core.engine.Engine for the executor: start/stop/restart flip states and bump start times."""

    def __init__(self, containers: list[ContainerInfo], fail_restart: str | None = None) -> None:
        self.by_id = {c.id: c for c in containers}
        self.calls: list[tuple[str, str]] = []
        self.clock = 100
        self.fail_restart = fail_restart
        self.lock = threading.Lock()

    def project_containers(self, project: str, *, all: bool = True) -> list[ContainerInfo]:
        return list(self.by_id.values())

    def containers(self, all: bool = False) -> list[dict]:
        """The engine's listing, for the host-port check before a start: no other project holds a port."""
        return []

    def _start(self, cid: str) -> None:
        with self.lock:
            self.clock += 1
            c = self.by_id[cid]
            c.state, c.started_at = "running", T0 + timedelta(seconds=self.clock)

    def restart(self, cid: str, timeout: int = 10) -> None:
        self.calls.append(("restart", self.by_id[cid].service))
        if self.by_id[cid].service == self.fail_restart:
            raise RuntimeError("cannot join network of a non running container: 0123")
        self._start(cid)

    def stop(self, cid: str, timeout: int = 10) -> None:
        self.calls.append(("stop", self.by_id[cid].service))
        self.by_id[cid].state = "exited"

    def start(self, cid: str) -> None:
        self.calls.append(("start", self.by_id[cid].service))
        self._start(cid)

    def inspect_raw(self, cid: str) -> dict:
        c = self.by_id[cid]
        return {
            "Id": c.id, "Name": f"/{c.name}",
            "Config": {"Labels": {"com.docker.compose.project": c.project, "com.docker.compose.service": c.service},
                       "Healthcheck": {"Test": ["CMD", "true"]}},
            "State": {"Status": c.state, "StartedAt": c.started_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")},
            "HostConfig": {"NetworkMode": c.network_mode, "IpcMode": c.ipc_mode},
        }

    def exec(self, cid: str, cmd: list[str], timeout: float = 10) -> tuple[int, str]:
        return 0, "ok"

    def logs_tail(self, cid: str, lines: int = 20) -> list[str]:
        return [f"{self.by_id[cid].service}: last words"]

    def is_local(self) -> bool:
        return True


def chain_boxes() -> list[ContainerInfo]:
    return [box("gateway", "g1"), box("api", "a1", joined="g1"), box("worker", "w1", joined="a1", ipc="x"),
            box("client", "c1")]


def no_probes(project):
    for spec in project.services.values():
        spec.x.health = None
    return project


def test_executor_stops_joiners_with_their_owner_then_starts_them_in_order(chain, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    project = no_probes(load_project(resolve_target(files=[ROOT / "compose" / "chain" / "compose.yaml"],
                                                    project_name="pc")))
    engine = FakeEngine(chain_boxes())
    events = []
    result = execute(build_plan(project, ["gateway"]), project, engine, None, on_event=events.append)
    assert result.ok, result.reason
    assert sorted(engine.calls[:3]) == [("restart", "gateway"), ("stop", "api"), ("stop", "worker")]
    assert engine.calls[3:] == [("start", "api"), ("start", "worker")]
    kinds = [(e.kind, e.step) for e in events if e.kind in ("step_started", "step_done")]
    assert kinds == [("step_started", 1), ("step_done", 1), ("step_started", 2), ("step_done", 2),
                     ("step_started", 3), ("step_done", 3)]
    assert events[-1].kind == "plan_done"


def test_executor_cancel_between_steps_and_failures_report_what_was_not_run(chain, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    project = no_probes(load_project(resolve_target(files=[ROOT / "compose" / "chain" / "compose.yaml"],
                                                    project_name="pc")))
    cancel = threading.Event()
    engine = FakeEngine(chain_boxes())
    result = execute(build_plan(project, ["gateway"]), project, engine, None, cancel=cancel,
                     on_event=lambda e: cancel.set() if e.kind == "step_done" else None)
    assert not result.ok and result.cancelled
    assert [s.service for s in result.not_run] == ["api", "worker"]
    assert result.stopped_not_run == ["api", "worker"]
    assert result.bring_back == ["api"]  # worker joins api: restarting api takes it along
    assert [s.service for s in result.steps_run] == ["gateway"]

    engine = FakeEngine(chain_boxes(), fail_restart="api")
    result = execute(build_plan(project, ["api"]), project, engine, None)
    assert not result.ok and result.failed_step is not None and result.failed_step.service == "api"
    assert "restart of api failed: cannot join network of a non running container" in (result.reason or "")
    assert result.last_logs == ["api: last words"]
    assert [s.service for s in result.not_run] == ["worker"]

    with project_lock(project.name, "another plan"):
        with pytest.raises(Busy) as err:
            execute(build_plan(project, ["api"]), project, FakeEngine(chain_boxes()), None)
    assert "busy: another plan" in str(err.value) and err.value.exit_code == 1


def test_cli_usage_errors_exit_2_and_all_plans_the_whole_stack(docker_host, tmp_path):
    """`restart` needs services or --all; `--all --dry-run --json` on a stack with no containers plans creates."""
    import json
    import shutil
    import subprocess

    shutil.copytree(ROOT / "compose" / "chain", tmp_path / "chain")
    (tmp_path / "chain" / ".env").write_text("COMPOSE_PROJECT_NAME=never-started-here\n")
    env = cli_env()

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*STACKTUI, *args], cwd=tmp_path / "chain", env=env,
                              capture_output=True, text=True, timeout=60)

    done = cli("restart")
    assert done.returncode == 2 and "name the services to restart" in done.stderr and "--all" in done.stderr
    done = cli("restart", "--all", "--dry-run", "--json")
    assert done.returncode == 0, done.stderr
    steps = json.loads(done.stdout)["steps"]
    assert [(s["service"], s["action"]) for s in steps] == [
        ("gateway", RECREATE), ("api", RECREATE), ("worker", RECREATE), ("client", RECREATE)]
    assert all(set(s) == {"service", "action", "waits_for"} for s in steps)
