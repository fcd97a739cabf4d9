"""`stacktui status` through the real CLI: the JSON shape, the exit code, and container output kept as data."""
from __future__ import annotations

import json
import time

NOISY = """\
services:
  noisy:
    image: ${STACKTUI_DEMO_IMAGE}
    command: ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1 & wait $$!; done"]
    healthcheck:
      # A healthcheck whose output tries to retitle and recolour the terminal.
      test: ["CMD-SHELL", "printf '\\\\033]0;pwned\\\\007\\\\033[31mred'; exit 1"]
      interval: 1s
      timeout: 2s
      retries: 1
    ports:
      - "127.0.0.1:${NOISY_PORT}:8080"
    x-stacktui:
      health: http://noisy:8080/health
"""

KEYS = {"service", "state", "health", "container_id", "started_at", "namespace_owner", "stale", "stale_reason",
        "ports"}


def test_status_json_shape_exit_code_and_escaped_output(text_stack, engine):
    stack = text_stack(NOISY, ("NOISY_PORT",))
    stack.compose("up", "-d")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and stack.container(engine, "noisy").health != "unhealthy":
        time.sleep(0.2)

    done = stack.stacktui("status", "--json")
    assert done.returncode == 1, done.stderr
    data = json.loads(done.stdout)
    assert data["project"] == stack.name
    (row,) = data["services"]
    assert KEYS <= set(row)
    assert row["state"] == "running" and row["health"] == "unhealthy" and row["stale"] is False
    assert row["ports"] == [f"127.0.0.1:{stack.ports['NOISY_PORT']}->8080/tcp"]
    assert row["probe"]["ok"] is False and row["probe"]["url"] == "http://noisy:8080/health"
    assert row["health_output"] == "\x1b]0;pwned\x07\x1b[31mred"  # JSON carries the data as it is

    text = stack.stacktui("status")
    assert text.returncode == 1
    assert "\x1b" not in text.stdout and "\x07" not in text.stdout
    assert "healthcheck failing: \\x1b]0;pwned\\x07\\x1b[31mred" in text.stdout
    assert "probe http://noisy:8080/health failed" in text.stdout
