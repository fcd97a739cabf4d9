"""The demo's `stacktui kube export`, played by a real Pod runtime: Podman 4.3's `podman kube play`, on a
private Podman (its own storage and config), with the demo image built offline.

What a Pod gives that `network_mode: service:X` does not: the network and IPC namespaces belong to the
Pod's infra container, not to vscode, so restarting vscode's container leaves mcp-server answering on the
Pod's localhost and on its published port, with no action from anyone.

Measured here (Podman 4.3.1, Debian 12, root, no systemd):
- A Pod needs Debian's `catatonit` (its infra container's pause image is built from it; PodmanService
  installs it) and the lower nofile/nproc limits PodmanService's containers.conf sets.
- Native sidecars are refused: the default export (Kubernetes 1.37: owner as an init container with
  restartPolicy Always and a startup probe) fails with "cannot create an init container that has either of
  lifecycle, livenessProbe, readinessProbe, or startupProbe set". The 1.28 form (plain containers, owner
  first) is what Podman plays.
- Of the probes, only livenessProbe is used: it becomes the container's healthcheck (`podman healthcheck
  run` runs it). startupProbe and readinessProbe are ignored, and without systemd no healthcheck runs on
  its own ("unable to get systemd connection to add healthchecks").
- ConfigMaps in the same file are honoured as volumes (the demo's scripts travel that way).
- Services are not honoured: the backend's Pod cannot resolve `vscode` ("bad address"), and a NodePort
  Service publishes nothing. What publishes a port is a containerPort's hostPort (`--expose hostport`).
"""
from __future__ import annotations

import json
import subprocess
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import pytest
from ruamel.yaml import YAML

from tests.conftest import DEMO_PORTS, make_stack, podman_session
from tests.waiting import until
from tests.usercli import STACKTUI, cli_env

pytestmark = [pytest.mark.xdist_group(name="podman"), pytest.mark.engine]


@pytest.fixture(scope="module")
def podman() -> Iterator[tuple[Any, str]]:
    with podman_session() as service:
        yield service, service.image()


def _export(tmp_path: Path, image: str, *args: str) -> tuple[Path, dict[str, int]]:
    stack = make_stack(tmp_path, "demo", DEMO_PORTS)
    with open(stack.dir / ".env", "a") as env_file:
        env_file.write(f"STACKTUI_DEMO_IMAGE={image}\n")
    env = cli_env()
    env.pop("STACKTUI_DEMO_IMAGE", None)  # the .env names Podman's copy of the image
    done = subprocess.run([*STACKTUI, "kube", "export", *args], cwd=stack.dir, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    manifest = tmp_path / "demo.yaml"
    manifest.write_text(done.stdout)
    return manifest, stack.ports


def _containers(service: Any) -> dict[str, dict[str, Any]]:
    """Podman's containers by name, with their Pod."""
    done = service.podman("ps", "-a", "--format", "json")
    return {c["Names"][0]: c for c in json.loads(done.stdout or "[]")}


def _exec(service: Any, container: str, *cmd: str) -> subprocess.CompletedProcess[str]:
    return service.podman("exec", container, *cmd, timeout=30)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as reply:
            return reply.status == 200
    except OSError:
        return False


def test_demo_plays_as_one_pod_that_survives_a_restart_of_vscode(podman, tmp_path):
    service, image = podman
    # As a cluster would get it: the demo's read-only ./scripts travels as a ConfigMap, not a host path.
    manifest, ports = _export(tmp_path, image, "--k8s-version", "1.28", "--expose", "hostport")
    played = service.podman("kube", "play", str(manifest), timeout=120)
    try:
        assert played.returncode == 0, played.stderr
        by_name = _containers(service)
        vscode = next(n for n in by_name if n.endswith("-vscode"))
        mcp = next(n for n in by_name if n.endswith("-mcp-server"))
        backend = next(n for n in by_name if n.endswith("-backend"))
        assert by_name[vscode]["Pod"] == by_name[mcp]["Pod"] != by_name[backend]["Pod"]

        health = ["timeout", "2", "wget", "-q", "-O", "-", "http://127.0.0.1:9001/health"]
        until(lambda: _exec(service, vscode, *health).stdout.strip() == '{"status":"ok"}', timeout=60,
              what="mcp-server's /health on localhost:9001, asked from vscode's container")
        # The probe stacktui derived from mcp-server's healthcheck is Podman's healthcheck of that container.
        objects = list(YAML(typ="safe").load_all(manifest.read_text()))
        pod = next(o for o in objects if o["metadata"]["name"] == "vscode")["spec"]["template"]["spec"]
        probe = next(c for c in pod["containers"] if c["name"] == "mcp-server")["livenessProbe"]["exec"]["command"]
        check = service.podman("inspect", mcp, "--format", "{{json .Config.Healthcheck.Test}}")
        assert probe[-1] in json.loads(check.stdout)
        assert service.podman("healthcheck", "run", mcp).returncode == 0
        published = f"http://127.0.0.1:{ports['DEMO_MCP_HTTP_PORT']}/health"
        until(lambda: _answers(published), timeout=30, what=f"the published port {published}")
        # Services are not honoured by Podman 4.3: the backend's Pod cannot resolve vscode.
        lookup = _exec(service, backend, "timeout", "2", "wget", "-q", "-O", "-", "http://vscode:9001/health")
        assert lookup.returncode != 0 and "bad address" in lookup.stderr

        started = service.podman("inspect", mcp, "--format", "{{.State.StartedAt}}").stdout
        vscode_started = service.podman("inspect", vscode, "--format", "{{.State.StartedAt}}").stdout
        restarted = service.podman("restart", "-t", "1", vscode)
        assert restarted.returncode == 0, restarted.stderr
        until(lambda: _exec(service, vscode, *health).returncode == 0, timeout=20,
              what="mcp-server on the Pod's localhost after vscode's container restarted")
        until(lambda: _answers(published), timeout=20, what="the published port after vscode restarted")
        # vscode's container did restart; nobody touched mcp-server: the same process, in the namespaces
        # the Pod kept.
        assert service.podman("inspect", vscode, "--format", "{{.State.StartedAt}}").stdout != vscode_started
        assert service.podman("inspect", mcp, "--format", "{{.State.StartedAt}}").stdout == started
    finally:
        service.podman("kube", "down", str(manifest), timeout=120)


def test_native_sidecars_are_refused_by_podman_4_3(podman, tmp_path):
    service, image = podman
    manifest, _ports = _export(tmp_path, image)  # the default: Kubernetes 1.37
    assert "restartPolicy: Always\n      containers:" in manifest.read_text()
    try:
        played = service.podman("kube", "play", str(manifest), timeout=120)
        assert played.returncode != 0
        assert ("cannot create an init container that has either of lifecycle, livenessProbe, readinessProbe, "
                "or startupProbe set") in played.stderr
    finally:
        service.podman("kube", "down", str(manifest), timeout=120)
