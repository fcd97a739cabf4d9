"""A stack that never gets healthy, through the real CLI: what `status` shows (JSON shape, exit code,
container output kept as data) and how a restart plan stops at a gate that never passes."""
from __future__ import annotations

import json

import pytest

from stacktui.core.compose.discovery import resolve_target
from stacktui.core.loader import load_project
from stacktui.core.restart.plan import build_plan, execute
from tests.waiting import until

SICK = """\
services:
  sick:
    image: ${STACKTUI_DEMO_IMAGE}
    command: ["sh", "-c", "trap 'exit 0' TERM; echo 'sick: up, never healthy'; while :; do sleep 1 & wait $$!; done"]
    healthcheck:
      # Output that would retitle and recolour a terminal if printed raw.
      test: ["CMD-SHELL", "printf 'db not ready \\\\033]0;pwned\\\\007\\\\033[31mred'; exit 1"]
      interval: 1s
      timeout: 10s   # on a loaded machine a 2 s check can time out, and its output would be Docker's words
      retries: 2
  rider:
    image: ${STACKTUI_DEMO_IMAGE}
    command: ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1 & wait $$!; done"]
    network_mode: "service:sick"
  deaf:
    image: ${STACKTUI_DEMO_IMAGE}
    command: ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1 & wait $$!; done"]
    ports:
      - "127.0.0.1:${DEAF_PORT}:9999"
    x-stacktui:
      health: http://deaf:9999/health   # nothing listens there
"""
RAW = "db not ready \x1b]0;pwned\x07\x1b[31mred"
SHOWN = "db not ready \\x1b]0;pwned\\x07\\x1b[31mred"
KEYS = {"service", "state", "health", "container_id", "started_at", "namespace_owner", "stale", "stale_reason",
        "ports"}


@pytest.fixture(scope="module")
def sick(text_stack, engine):
    stack = text_stack(SICK, ("DEAF_PORT",))
    stack.compose("up", "-d")
    until(lambda: len(found := {c.service: c for c in engine.project_containers(stack.name)}) == 3
          and found["sick"].health == "unhealthy", 60, "three containers, sick unhealthy", step=0.2)
    return stack


def test_status_shows_json_shape_exit_1_and_escapes_container_output(sick):
    done = sick.stacktui("status", "--json")
    assert done.returncode == 1, done.stderr
    data = json.loads(done.stdout)
    assert data["project"] == sick.name
    rows = {r["service"]: r for r in data["services"]}
    assert list(rows) == ["sick", "rider", "deaf"]
    for row in rows.values():
        assert KEYS <= set(row)
    assert rows["sick"]["state"] == "running" and rows["sick"]["health"] == "unhealthy"
    assert rows["sick"]["health_output"] == RAW  # JSON carries the data as it is
    assert rows["rider"]["namespace_owner"] == "sick" and rows["rider"]["stale"] is False
    assert rows["deaf"]["ports"] == [f"127.0.0.1:{sick.ports['DEAF_PORT']}->9999/tcp"]
    assert rows["deaf"]["probe"]["ok"] is False and rows["deaf"]["health"] == "unhealthy"

    text = sick.stacktui("status")
    assert text.returncode == 1
    assert "\x1b" not in text.stdout and "\x07" not in text.stdout
    assert f"healthcheck failing: {SHOWN}" in text.stdout
    assert "probe http://deaf:9999/health failed" in text.stdout


def test_a_probe_that_never_answers_stops_the_plan_when_the_timeout_runs_out(sick, engine):
    target = resolve_target(files=[sick.file], cwd=sick.dir)
    project = load_project(target)
    result = execute(build_plan(project, ["deaf"]), project, engine, target, timeout=1.5)
    assert result.ok is False and result.failed_step is not None and result.failed_step.service == "deaf"
    assert "probe http://deaf:9999/health gate not passed within 1.50 s" in (result.reason or "")
    assert result.not_run == []


def test_a_healthcheck_that_always_fails_stops_the_plan_with_exit_1(sick, engine):
    done = sick.stacktui("restart", "sick", "--timeout", "30")
    assert done.returncode == 1, done.stdout + done.stderr
    out = done.stdout
    assert "failed: step 1/2 sick: healthy gate failed: Docker reports" in out and "-sick-1 unhealthy" in out
    assert f"last health output:\n  {SHOWN}" in out and "\x1b" not in out
    assert "last log lines:" in out and "sick: up, never healthy" in out
    assert "not run: rider" in out
    # rider was stopped with its owner and stays stopped, and the output says so.
    assert "left stopped" in out and sick.container(engine, "rider").state == "exited"

    done = sick.stacktui("restart", "deaf", "--timeout", "1", "--json")
    assert done.returncode == 1
    result = json.loads(done.stdout)["result"]
    assert result["ok"] is False and result["failed_step"]["service"] == "deaf"
    assert result["reason"].startswith("step 1/1 deaf: probe http://deaf:9999/health gate not passed within 1.00 s")
