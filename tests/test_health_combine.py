"""The health word: healthy only when every signal that applies agrees (unit tests on ContainerInfo values)."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from stacktui.core.engine.client import ContainerInfo
from stacktui.core.health.stale import StaleVerdict
from stacktui.core.health.status import DOWN, HEALTHY, NO_CHECK, STALE, STARTING, UNHEALTHY, ProbeResult, combine


def container(state: str = "running", health: str | None = "healthy", **kw) -> ContainerInfo:
    fields = dict(id="c1", name="p-svc-1", project="p", service="svc", number=1, state=state, exit_code=0,
                  oom_killed=False, health=health, health_output="ok" if health else None,
                  started_at=datetime(2025, 1, 1, tzinfo=timezone.utc), finished_at=None, network_mode="bridge",
                  ipc_mode="private", pid_mode="", pid=1, restart_count=0)
    fields.update(kw)
    return ContainerInfo(**fields)


def probe(ok: bool) -> ProbeResult:
    return ProbeResult("svc", "http://vscode:9001/health", "host port 127.0.0.1:19001, published by vscode", ok,
                       status_code=200 if ok else None, error=None if ok else "ConnectError: refused")


def test_probe_failing_while_the_healthcheck_passes_is_not_healthy():
    word, reasons = combine(container(), True, probe(False), None)
    assert word == UNHEALTHY
    assert any("probe http://vscode:9001/health failed via host port 127.0.0.1:19001" in r for r in reasons)
    assert any("healthcheck passing" in r for r in reasons)


def test_healthy_only_when_healthcheck_and_probe_agree():
    assert combine(container(), True, probe(True), None)[0] == HEALTHY
    assert combine(container(), True, None, None)[0] == HEALTHY
    assert combine(container(health=None), False, probe(True), None)[0] == HEALTHY


def test_stale_wins_over_a_passing_healthcheck_and_keeps_the_other_reasons():
    verdict = StaleVerdict("svc", "vscode", "vscode restarted after svc joined its network namespace")
    word, reasons = combine(container(), True, probe(False), verdict)
    assert word == STALE
    assert reasons[0] == verdict.reason
    assert any("probe" in r and "failed" in r for r in reasons)
    assert combine(container(), True, probe(True), verdict)[0] == STALE


@pytest.mark.parametrize("kw, says", [
    (dict(state="exited", exit_code=3), "exited (3)"),
    (dict(state="exited", exit_code=137, oom_killed=True), "OOM-killed"),
    (dict(state="restarting"), "restarting"),
    (dict(state="dead"), "dead"),
    (dict(state="paused"), "paused"),
])
def test_engine_states_that_are_down(kw, says):
    word, reasons = combine(container(**kw), True, probe(True), None)
    assert word == DOWN
    assert says in reasons[0]
    assert combine(None, True, None, None) == (DOWN, ["container is missing"])


def test_healthcheck_failing_carries_its_last_output():
    word, reasons = combine(container(health="unhealthy", health_output="wget: connection refused"), True, None, None)
    assert word == UNHEALTHY
    assert reasons == ["healthcheck failing: wget: connection refused"]


def test_a_healthcheck_built_into_the_image_counts_though_the_files_declare_none():
    assert combine(container(health="unhealthy"), False, None, None)[0] == UNHEALTHY
    assert combine(container(health="healthy"), False, None, None)[0] == HEALTHY


def test_starting_and_no_check():
    assert combine(container(health="starting"), True, probe(False), None)[0] == STARTING
    word, reasons = combine(container(health=None), False, None, None)
    assert (word, reasons) == (NO_CHECK, ["no healthcheck and no probe declared"])
    # Declared in the files but not in the running container: not claimed healthy on its behalf.
    word, reasons = combine(container(health=None), True, None, None)
    assert word == NO_CHECK and "recreates" in reasons[0]
