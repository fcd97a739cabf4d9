"""`stacktui latency` and the figures beside the layout switch, on the real engine.

One demo stack for the module (three containers), in the shared layout, then separate, then
shared again; one single-container stack for what must fail and what must never be contacted.
"""
from __future__ import annotations

import json
import re
import socket
import threading

import pytest

from tests.waiting import on_screen, until, until_app

COUNT = 40


def figures_are_plausible(figure: dict, asked: int) -> None:
    assert figure["asked"] == asked
    assert figure["ok"] + figure["failed"] + figure["not_run"] == asked
    assert figure["ok"] > 0, figure
    assert 0 < figure["p50_ms"] <= figure["p95_ms"] <= figure["p99_ms"] <= figure["max_ms"]


def latency_json(stack, *args: str) -> tuple[dict, int]:
    done = stack.stacktui("latency", "--json", "--count", str(COUNT), *args)
    assert done.returncode in (0, 1), done.stderr
    report = json.loads(done.stdout)
    failed = any(f["failed"] for p in report["paths"] for f in (p.get("connect"), p.get("http"), p.get("lookup")) if f)
    assert done.returncode == (1 if failed or report["not_running"] else 0)  # the exit code says what the report says
    return report, done.returncode


def paths_of(report: dict, service: str, port: int) -> dict[str, dict]:
    return {p["kind"]: p for p in report["paths"] if p["service"] == service and p["port"] == port}


def check_the_three_paths(stack, engine, report: dict, bridge_name: str) -> None:
    paths = paths_of(report, "mcp-server", 9001)
    assert set(paths) == {"namespace", "bridge", "host"}
    for path in paths.values():
        assert path["not_measured"] is None
        figures_are_plausible(path["connect"], COUNT)
        figures_are_plausible(path["http"], COUNT)  # the health URL is on 9001
    assert paths["namespace"]["to"] == "localhost:9001"
    bridge = paths["bridge"]
    assert bridge["from"] == "backend" and bridge["to"] == f"{bridge_name}:9001"
    # As backend resolves it: the engine's DNS gave the address of the container that owns the namespace.
    owner = stack.container(engine, bridge_name)
    assert bridge["address"] in owner.ip_addresses.values()
    assert bridge["lookup"]["ok"] > 0
    assert paths["host"]["to"] == f"127.0.0.1:{stack.ports['DEMO_MCP_HTTP_PORT']}"
    # 9002 has no health URL: a connect only.
    assert "http" not in paths_of(report, "mcp-server", 9002)["namespace"]


def test_latency_and_the_dry_run_in_each_layout(module_demo_stack, engine):
    stack = module_demo_stack
    report, _ = latency_json(stack)
    check_the_three_paths(stack, engine, report, "vscode")
    namespace = paths_of(report, "mcp-server", 9001)["namespace"]
    assert namespace["from"] == "vscode's namespace, where mcp-server lives" and namespace["callers"] == ["vscode"]

    done = stack.stacktui("layout", "separate", "mcp-server", "--dry-run")
    assert done.returncode == 0, done.stderr
    assert re.search(r"^shared: localhost p50 [\d.]+ ms; separate would be: bridge p50 [\d.]+ ms "
                     r"\([+-][\d.]+ ms per request; http, measured now: mcp-server:9001 from its namespace "
                     r"and from backend as vscode:9001\)$", done.stdout, re.M), done.stdout
    assert "nothing written" in done.stdout

    try:
        done = stack.stacktui("layout", "separate", "mcp-server", "--yes")
        assert done.returncode == 0, done.stdout + done.stderr
        report, _ = latency_json(stack, "mcp-server")
        check_the_three_paths(stack, engine, report, "mcp-server")
        assert paths_of(report, "mcp-server", 9001)["namespace"]["from"] == "mcp-server's own namespace"

        done = stack.stacktui("layout", "shared", "mcp-server", "--with", "vscode", "--dry-run")
        assert done.returncode == 0, done.stderr
        # Separate now; shared is priced on the same listener from the owner it would join.
        assert re.search(r"^separate: bridge p50 [\d.]+ ms; shared would be: localhost p50 [\d.]+ ms "
                         r"\([+-][\d.]+ ms per request; http, measured now: mcp-server:9001 from its namespace "
                         r"and from vscode as mcp-server:9001\)$", done.stdout, re.M), done.stdout
    finally:
        done = stack.stacktui("layout", "shared", "mcp-server", "--with", "vscode", "--yes")
        assert done.returncode == 0, done.stdout + done.stderr


async def test_the_layout_dialog_and_the_detail_view_show_the_figures(module_demo_stack, engine):
    from stacktui.core.settings import Settings
    from stacktui.ui.detail import DetailScreen
    from stacktui.ui.latencyview import LatencyLines
    from stacktui.ui.modals import DiffModal
    from tests.test_ui_everyday import live_app

    app = live_app(module_demo_stack, engine, Settings(resource_refresh=0.5))
    async with app.run_test(size=(160, 50)) as pilot:
        table = app.table
        await until_app(pilot, lambda: table.status_of("mcp-server"), what="the services table")
        table.move_cursor(row=list(app.project.services).index("mcp-server"))
        await pilot.press("b")
        await until_app(pilot, lambda: on_screen(app, DiffModal), timeout=60, what="the diff dialog")
        line = app.screen.query_one("#diff-latency", LatencyLines)
        await until_app(pilot, lambda: line.lines, timeout=30, what="the measured comparison")
        assert re.match(r"shared: localhost p50 [\d.]+ ms; separate would be: bridge p50 [\d.]+ ms "
                        r"\([+-][\d.]+ ms per request", line.lines[0]), line.lines
        assert str(line.render()).startswith("shared: localhost p50 ")  # on screen, beside the diff
        await pilot.press("escape")
        await until_app(pilot, lambda: not isinstance(app.screen, DiffModal), what="the dialog closed")

        await pilot.press("d")
        await until_app(pilot, lambda: on_screen(app, DetailScreen), what="the detail view")
        lines = app.screen.query_one("#detail-latency", LatencyLines)
        assert str(lines.render()).startswith("latency: not measured (m measures")  # no traffic until asked
        assert not lines.measuring
        await pilot.press("m")
        await until_app(pilot, lambda: lines.lines, timeout=30, what="the measured paths")
        shown = str(lines.render()).splitlines()
        assert "mcp-server:9001 (health /health)" in shown
        assert any(re.match(r"  bridge +from backend -> vscode:9001 = [\d.]+", s) for s in shown), shown
        assert any(re.match(r"    http +p50 [\d.]+ ms, p95 [\d.]+, p99 [\d.]+, max [\d.]+", s) for s in shown), shown
        await pilot.press("escape")


def test_a_stopped_service_is_one_line_and_exit_1(module_demo_stack):
    stack = module_demo_stack
    stack.compose("stop", "-t", "1", "mcp-server")
    try:
        done = stack.stacktui("latency", "mcp-server", timeout=60)
        assert done.returncode == 1
        assert "mcp-server is exited (exit code 0): nothing to measure (start it: `stacktui restart mcp-server`)" \
            in done.stdout.splitlines()
        assert "localhost" not in done.stdout  # nothing measured, nothing pretended
    finally:
        # backend's healthcheck calls mcp-server: it is unhealthy until its next check after the start,
        # and `up --wait` fails at once on an unhealthy container (Compose's own exit status).
        until(lambda: stack.compose("up", "-d", "--wait", "--wait-timeout", "30", check=False).returncode == 0,
              120, "the demo healthy again", step=1)


class Listener:
    """A TCP listener on 127.0.0.2 (not the stack's) that records every connection it gets."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.2", 0))
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self.sock.close()


WEB = """\
services:
  web:
    image: ${{STACKTUI_DEMO_IMAGE}}
    init: true
    command: ["sh", "-c", "mkdir -p /www && echo ok > /www/index.html && exec httpd -f -p 8080 -h /www"]
    ports:
      - "127.0.0.1:${{WEB_PORT}}:8080"
    environment:
      CACHE_URL: http://127.0.0.2:{foreign}/health
      UPSTREAM: 127.0.0.2:{foreign}
    x-stacktui:
      health: http://web:8080/missing
      listens: [8080, 9003]
"""


@pytest.fixture(scope="module")
def foreign() -> Listener:
    listener = Listener()
    yield listener
    listener.close()


def test_failed_asks_are_reported_and_a_foreign_address_is_never_contacted(text_stack, foreign):
    stack = text_stack(WEB.format(foreign=foreign.port), ("WEB_PORT",))
    stack.up()
    done = stack.stacktui("latency", "--count", "20")
    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    # 9003 is declared but nobody listens: every connect fails, and says why.
    at = lines.index("web:9003")
    assert lines[at + 2].split() == ["connect", "0", "ok,", "20", "FAILED", "(Connection", "refused", "x20)"]
    # The health path answers 404: connects work, requests fail as such.
    at = lines.index("web:8080 (health /missing)")
    assert lines[at + 1].startswith("  localhost  from web's own namespace -> localhost:8080")
    assert "(20 ok)" in lines[at + 2]
    assert lines[at + 3].split() == ["http", "0", "ok,", "20", "FAILED", "(HTTP", "404", "x20)"]
    assert f"web's environment CACHE_URL names 127.0.0.2, not a service of the stack: not measured" in lines
    assert f"web's environment UPSTREAM names 127.0.0.2, not a service of the stack: not measured" in lines

    report = json.loads(stack.stacktui("latency", "--json", "--count", "20").stdout)
    assert {p["to"] for p in report["paths"]} == {"localhost:8080", "localhost:9003",
                                                  f"127.0.0.1:{stack.ports['WEB_PORT']}"}
    assert foreign.connections == 0
    # The listener does count what reaches it: this test's own connection is seen.
    socket.create_connection(("127.0.0.2", foreign.port), timeout=5).close()
    until(lambda: foreign.connections == 1, what="the listener to see the test's own connection")
