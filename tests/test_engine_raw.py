"""The engine adapter's direct unix-socket path (core/rawhttp): the same answers as docker-py, no docker import.

A local engine is asked ping, list, inspect, version and events over HTTP/1.0 so that the
TUI's first frame does not wait for docker-py. These tests hold it to docker-py's answers on
the real engine, and to clear errors when the socket misbehaves (a small fake server plays
a socket that cuts an answer short; the engine itself is never touched).
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import docker
import pytest

from stacktui.core.engine import rawhttp
from stacktui.core.engine.client import Engine
from stacktui.core.errors import EngineUnavailable
from tests.waiting import until

ROOT = Path(__file__).resolve().parents[1]


def test_listing_and_inspect_match_docker_py(module_demo_stack, docker_host: str) -> None:
    raw = Engine.from_env()
    sdk = Engine(docker.DockerClient(base_url=docker_host, timeout=10), docker_host)
    try:
        ours = raw.project_containers(module_demo_stack.name)
        theirs = sdk.api.containers(all=True, filters={"label": f"com.docker.compose.project={module_demo_stack.name}"})
        assert sorted(c.id for c in ours) == sorted(s["Id"] for s in theirs)
        assert [c.service for c in ours] == ["backend", "mcp-server", "vscode"]
        vscode = next(c for c in ours if c.service == "vscode")
        ours_raw, theirs_raw = raw.inspect_raw(vscode.id), sdk.api.inspect_container(vscode.id)
        # Health.Log changes with every healthcheck (every 2 s): compare what does not move.
        for key in ("Id", "Name", "Config", "HostConfig", "Created"):
            assert ours_raw[key] == theirs_raw[key]
        assert ours_raw["State"]["StartedAt"] == theirs_raw["State"]["StartedAt"]
        assert raw.version()["ApiVersion"] == sdk.api.version()["ApiVersion"]
    finally:
        sdk.close()


def test_missing_container_is_a_404_like_docker_py(engine: Engine) -> None:
    with pytest.raises(Exception) as raised:
        engine.inspect_raw("no-such-container-stacktui")
    assert getattr(raised.value, "status_code", None) == 404
    assert "no-such-container-stacktui" in str(raised.value)


def test_a_command_on_a_local_engine_never_imports_docker_py(module_demo_stack, docker_host: str) -> None:
    """What the TUI's first frame and `status` need comes over the socket: no 0.2 s docker-py import."""
    code = (
        "import sys, threading\n"
        "from stacktui.core.engine.client import Engine\n"
        "e = Engine.from_env()\n"
        f"cs = e.project_containers({module_demo_stack.name!r})\n"
        "stream = e.events()\n"
        "threading.Timer(0.3, stream.close).start()\n"
        "list(stream)\n"
        "print(len(cs), e.version()['Version'] != '', 'docker' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         env={**os.environ, "DOCKER_HOST": docker_host, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["3", "True", "False"]


def test_events_arrive_as_they_happen_and_close_ends_the_stream(module_demo_stack, engine: Engine) -> None:
    vscode = next(c for c in engine.project_containers(module_demo_stack.name) if c.service == "vscode")
    stream = engine.events(module_demo_stack.name, actions=["pause", "unpause"])
    seen: list[str] = []

    def read() -> None:
        for ev in stream:
            seen.append(ev["Action"])

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    engine.client.api.pause(vscode.id)
    engine.client.api.unpause(vscode.id)
    try:
        until(lambda: len(seen) >= 2, 10, "the pause and unpause events", step=0.02)
    finally:
        stream.close()
    reader.join(5)
    assert seen == ["pause", "unpause"]
    assert not reader.is_alive()


def test_no_socket_says_the_engine_does_not_answer(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/nothing.sock")
    with pytest.raises(EngineUnavailable) as raised:
        Engine.from_env()
    assert "does not answer" in str(raised.value)
    assert "nothing.sock" in str(raised.value)


class _OneAnswer:
    """A unix socket that answers every request with the same bytes, then closes."""

    def __init__(self, answer: bytes) -> None:
        self.dir = tempfile.mkdtemp(prefix="stkraw")
        self.path = os.path.join(self.dir, "s.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(self.path)
        self.sock.listen(8)
        self.answer = answer
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.recv(65536)
                conn.sendall(self.answer)

    def close(self) -> None:
        self.sock.close()


def test_an_answer_cut_short_is_an_error_not_an_empty_listing() -> None:
    body = json.dumps([{"Id": "a" * 64, "Labels": {}}]).encode()
    server = _OneAnswer(b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n" + body[:20])
    try:
        with pytest.raises(rawhttp.EngineGone) as raised:
            Engine(None, f"unix://{server.path}").containers()
        assert "not JSON" in str(raised.value)
    finally:
        server.close()


def test_an_error_page_keeps_the_engines_message() -> None:
    server = _OneAnswer(b"HTTP/1.0 500 Internal Server Error\r\nContent-Type: application/json\r\n\r\n"
                        b'{"message":"disk full"}')
    try:
        with pytest.raises(Exception) as raised:
            Engine(None, f"unix://{server.path}").inspect_raw("abc")
        assert getattr(raised.value, "status_code", None) == 500
        assert "disk full" in str(raised.value)
    finally:
        server.close()


def test_log_tail_since_start_reads_both_kinds_of_container(engine: Engine, demo_image: str) -> None:
    """Without a TTY the engine frames stdout and stderr; with one it sends the bytes as they are."""
    made = []
    try:
        for tty in (False, True):
            c = engine.client.containers.run(demo_image, ["sh", "-c", "echo one; sleep 0.1; echo two >&2; sleep 0.1; echo three"],
                                             detach=True, tty=tty, network_mode="none",
                                             labels={"stacktui.test": "raw-logs"})
            made.append(c)
            c.wait(timeout=30)
            assert [line.rstrip("\r") for line in engine.logs_tail(c.id, 2)] == ["two", "three"]
            assert [line.rstrip("\r") for line in engine.logs_tail(c.id, 10)] == ["one", "two", "three"]
    finally:
        for c in made:
            c.remove(force=True)


def test_the_compose_cli_found_once_is_reused_until_it_changes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Finding Compose runs `version` on each candidate (0.1-0.25 s); the answer is kept while they stay the same."""
    from stacktui.core.compose import cli as composecli

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "calls"
    fake = bin_dir / "docker-compose"
    fake.write_text(f"#!/bin/sh\necho called >> {calls}\necho 2.40.0\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("STACKTUI_COMPOSE", raising=False)
    find = composecli.compose_command.__wrapped__

    assert find()[0] == str(fake)
    assert calls.read_text().count("called") == 1
    assert find()[0] == str(fake)
    assert calls.read_text().count("called") == 1, "the second look asked nobody"
    fake.write_text(fake.read_text() + "# upgraded\n")
    assert find()[0] == str(fake)
    assert calls.read_text().count("called") == 2, "a changed program is asked again"
    fake.unlink()
    monkeypatch.setattr(composecli.sys, "executable", str(tmp_path / "no-venv" / "python"))
    with pytest.raises(composecli.ComposeCliMissing):
        find()


def test_a_command_in_a_container_that_outlasts_its_limit_is_stopped_with_its_children(engine: Engine,
                                                                                          demo_image: str) -> None:
    """Issue 18: Engine.exec is bounded; on a local engine the command and what it started are killed."""
    from stacktui.core.engine.execread import ExecTimedOut

    c = engine.client.containers.run(demo_image, ["sleep", "300"], detach=True, network_mode="none", init=True,
                                     labels={"stacktui.test": "exec-limit"})
    try:
        with pytest.raises(ExecTimedOut) as refused:
            engine.exec(c.id, ["sh", "-c", "sleep 211 & sleep 212; echo never"], timeout=1)
        assert str(refused.value) == (f"`sh -c sleep 211 & sleep 212; echo never` did not finish within 1.00 s in "
                                      f"container {c.id[:12]} (it was stopped)")
        processes = lambda: " ".join(" ".join(p) for p in engine.client.api.top(c.id)["Processes"])  # noqa: E731
        until(lambda: "sleep 21" not in processes(), 10, "the exec's processes gone (the container's init reaps them)")
        code, out = engine.exec(c.id, ["sh", "-c", "echo out; echo err >&2; exit 3"], timeout=10)
        assert (code, sorted(out.splitlines())) == (3, ["err", "out"])  # both streams; their order is the pipes'
    finally:
        c.remove(force=True)


def test_start_stop_restart_and_exec_on_a_local_engine_go_over_the_socket(engine: Engine, demo_image: str,
                                                                           docker_host: str) -> None:
    """Issue 19: `stacktui restart` changes containers without waiting for docker-py's import."""
    c = engine.client.containers.run(demo_image, ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1 & wait $!; done"],
                                     detach=True, network_mode="none", labels={"stacktui.test": "raw-writes"})
    code = (
        "import sys\n"
        "from stacktui.core.engine.client import Engine\n"
        "e = Engine.from_env()\n"
        f"cid = {c.id!r}\n"
        "state = lambda: e.inspect_raw(cid)['State']\n"
        "before = state()['StartedAt']\n"
        "e.restart(cid, 5)\n"
        "print('restarted', state()['Running'], state()['StartedAt'] != before)\n"
        "e.stop(cid, 5)\n"
        "print('stopped', state()['Status'])\n"
        "e.stop(cid, 5)\n"  # already stopped: the engine's 304, no error (as docker-py)
        "e.start(cid)\n"
        "e.start(cid)\n"
        "print('started', state()['Running'])\n"
        "print('exec', *[str(x).strip() for x in e.exec(cid, ['sh', '-c', 'echo out; exit 4'])])\n"
        "try:\n"
        "    e.start('no-such-container-stacktui')\n"
        "except Exception as exc:\n"
        "    print('refused', exc.status_code, 'no-such-container-stacktui' in str(exc))\n"
        "print('docker imported', 'docker' in sys.modules)\n"
    )
    try:
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                             env={**os.environ, "DOCKER_HOST": docker_host, "PYTHONPATH": str(ROOT)})
        assert out.returncode == 0, out.stderr
        assert out.stdout.splitlines() == ["restarted True True", "stopped exited", "started True", "exec 4 out",
                                           "refused 404 True", "docker imported False"]
    finally:
        c.remove(force=True)
