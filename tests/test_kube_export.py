"""`stacktui kube export` mapping, from Compose's own `config` of real files (no engine needed)."""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from stacktui.core.compose.cli import ComposeTarget
from stacktui.core.errors import ConfigError
from stacktui.core.kube.notes import ExportRefused
from stacktui.core.kube.options import ExportOptions, parse_users, parse_version
from stacktui.core.loader import load_project
from stacktui.core.ops import kube
from tests.conftest import COMPOSE_DIR


def _export(folder: Path, text: str | None = None, env: str = "", **options: Any) -> kube.Export:
    if text is not None:
        (folder / "compose.yaml").write_text(text)
    if env:
        (folder / ".env").write_text(env)
    target = ComposeTarget(files=(folder / "compose.yaml",), project_directory=folder)
    return kube.export(load_project(target), ExportOptions(**options))


def _demo(tmp_path: Path, **options: Any) -> kube.Export:
    shutil.copytree(COMPOSE_DIR / "demo", tmp_path / "demo")
    (tmp_path / "demo" / ".env").write_text("DEMO_MCP_HTTP_PORT=19999\n")
    return _export(tmp_path / "demo", **options)


def _of(result: kube.Export, kind: str, name: str) -> dict[str, Any]:
    found = [o for o in result.objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, [(o["kind"], o["metadata"]["name"]) for o in result.objects]
    return found[0]


def _pod_members(deployment: dict[str, Any]) -> list[dict[str, Any]]:
    spec = deployment["spec"]["template"]["spec"]
    return spec.get("initContainers", []) + spec["containers"]


def test_demo_group_is_one_pod_owner_first_and_one_service_on_container_ports(tmp_path):
    result = _demo(tmp_path)
    kinds = [(o["kind"], o["metadata"]["name"]) for o in result.objects]
    scripts = kinds[0][1]
    assert kinds == [("ConfigMap", scripts), ("Deployment", "vscode"), ("Service", "vscode"), ("Deployment", "backend")]
    # The read-only ./scripts is a ConfigMap of its files, mounted by every member that mounts it.
    files = _of(result, "ConfigMap", scripts)["data"]
    assert files == {p.name: p.read_text() for p in (tmp_path / "demo" / "scripts").iterdir()}
    vscode = _of(result, "Deployment", "vscode")
    assert vscode["spec"]["replicas"] == 1 and vscode["spec"]["strategy"] == {"type": "Recreate"}
    pod = vscode["spec"]["template"]["spec"]
    # Native sidecars (1.37 by default): vscode starts first and must pass its startup probe.
    assert [c["name"] for c in pod["initContainers"]] == ["vscode"]
    assert pod["initContainers"][0]["restartPolicy"] == "Always" and "startupProbe" in pod["initContainers"][0]
    assert [c["name"] for c in pod["containers"]] == ["mcp-server"]
    # 9001 is published on the host as 19999: inside the cluster the backend still reaches vscode:9001.
    service = _of(result, "Service", "vscode")["spec"]
    assert [(p["port"], p["targetPort"]) for p in service["ports"]] == [(8080, 8080), (9001, 9001), (9002, 9002)]
    assert "type" not in service and service["selector"] == vscode["spec"]["selector"]["matchLabels"]
    backend = _of(result, "Deployment", "backend")["spec"]["template"]["spec"]["containers"][0]
    assert backend["env"] == [{"name": "MCP_SERVER_URL", "value": "http://vscode:9001/health"}]
    # Each port sits on the member that listens on it (x-stacktui.listens).
    ports = {c["name"]: [p["containerPort"] for p in c.get("ports", [])] for c in _pod_members(vscode)}
    assert ports == {"vscode": [8080], "mcp-server": [9001, 9002]}
    assert sum("--expose none" in line for line in result.said) == 1


def test_demo_probes_and_notes_with_file_and_line(tmp_path):
    result = _demo(tmp_path)
    mcp = _of(result, "Deployment", "vscode")["spec"]["template"]["spec"]["containers"][0]
    # x-stacktui.health http://vscode:9001/health: an httpGet readiness probe on the member that serves it.
    assert mcp["readinessProbe"]["httpGet"] == {"path": "/health", "port": 9001}
    # interval 2s, timeout 3s, retries 3, start_period 10s: five failing checks while starting, then the retries
    assert mcp["startupProbe"]["periodSeconds"] == 2 and mcp["startupProbe"]["failureThreshold"] == 8
    assert mcp["livenessProbe"]["exec"]["command"][-1] == "http://127.0.0.1:9001/health"
    assert (mcp["livenessProbe"]["timeoutSeconds"], mcp["livenessProbe"]["failureThreshold"]) == (3, 3)
    backend = _of(result, "Deployment", "backend")["spec"]["template"]["spec"]["containers"][0]
    # CMD-SHELL through a shell, Compose's $$ given back as one $.
    assert backend["readinessProbe"]["exec"]["command"] == [
        "/bin/sh", "-c", 'timeout 2 wget -q -O /dev/null "$MCP_SERVER_URL"']
    texts = [n.text() for n in result.notes]
    compose = tmp_path / "demo" / "compose.yaml"
    lines = compose.read_text().splitlines()
    dep = next(t for t in texts if "depends_on vscode" in t)
    where, line = dep.split(":")[0], int(dep.split(":")[1])
    assert where == str(compose) and lines[line - 1].strip() == "depends_on:"
    binds = [t for t in texts if "bind mount" in t]  # ./workspace is writable: no ConfigMap for it
    assert len(binds) == 2 and all("workspace -> /workspace" in t and "emptyDir" in t for t in binds)


def test_chain_flattened_in_join_order_whatever_the_declared_order(tmp_path):
    result = _export(tmp_path, """
services:
  worker: {image: busybox, network_mode: "service:api"}
  gateway: {image: busybox, ports: ["127.0.0.1:17001:7001"], x-stacktui: {listens: [7001]}}
  api: {image: busybox, network_mode: "service:gateway", expose: ["7002"]}
  client: {image: busybox}
""", k8s_version=(1, 28))
    names = [(o["kind"], o["metadata"]["name"]) for o in result.objects]
    assert names == [("Deployment", "gateway"), ("Service", "gateway"), ("Deployment", "client")]
    gateway = _of(result, "Deployment", "gateway")
    assert "initContainers" not in gateway["spec"]["template"]["spec"]  # 1.28: no native sidecars
    assert [c["name"] for c in _pod_members(gateway)] == ["gateway", "api", "worker"]
    assert [p["port"] for p in _of(result, "Service", "gateway")["spec"]["ports"]] == [7001, 7002]
    assert any("before native sidecars" in line for line in result.said)


def test_service_keys_carried_over(tmp_path):
    result = _export(tmp_path, """
name: proj
services:
  app:
    image: busybox
    entrypoint: ["sh", "-c"]
    command: 'echo $$HOME $(date) ${GREETING}'
    working_dir: /w
    user: "1000:2000"
    tty: true
    stdin_open: true
    init: true
    restart: on-failure
    extra_hosts: ["db.local=10.0.0.2", "cache.local=10.0.0.2"]
    cap_add: [NET_ADMIN]
    environment:
      GREETING: ${GREETING}
      API_TOKEN: abc
    volumes: [data:/data]
    healthcheck:
      test: ["CMD-SHELL", "test -f /tmp/ok"]
      interval: 2s
      timeout: 500ms
      retries: 4
      start_period: 9s
volumes:
  data:
""", env="GREETING=hello\n")
    pod = _of(result, "Deployment", "app")["spec"]["template"]["spec"]
    app = pod["containers"][0]
    assert app["command"] == ["sh", "-c"]
    # Compose split the words and resolved ${GREETING} from .env; $$ is one literal $; $( is kept
    # literal for the kubelet too (which would expand $(NAME) itself).
    assert app["args"] == ["echo", "$HOME", "$$(date)", "hello"]
    assert {e["name"]: e["value"] for e in app["env"]} == {"API_TOKEN": "abc", "GREETING": "hello"}
    assert (app["workingDir"], app["tty"], app["stdin"]) == ("/w", True, True)
    assert app["securityContext"] == {"runAsUser": 1000, "runAsGroup": 2000}  # no cap_add without the flag
    assert pod["shareProcessNamespace"] is True  # init: the Pod's pause process reaps, as docker-init does
    assert [(a["ip"], sorted(a["hostnames"])) for a in pod["hostAliases"]] == [("10.0.0.2", ["cache.local", "db.local"])]
    assert app["startupProbe"] == {"exec": {"command": ["/bin/sh", "-c", "test -f /tmp/ok"]}, "periodSeconds": 2,
                                   "timeoutSeconds": 1, "failureThreshold": 9}
    assert app["livenessProbe"]["failureThreshold"] == 4
    claim = _of(result, "PersistentVolumeClaim", "proj-data")
    assert pod["volumes"] == [{"name": "vol-data", "persistentVolumeClaim": {"claimName": "proj-data"}}]
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    notes = " | ".join(n.text() for n in result.notes)
    for said in ("cap_add: ['NET_ADMIN']", "restart: on-failure", "API_TOKEN looks like a secret"):
        assert said in notes
    allowed = _export(tmp_path, allow_privileged=True)
    app = _of(allowed, "Deployment", "app")["spec"]["template"]["spec"]["containers"][0]
    assert app["securityContext"]["capabilities"] == {"add": ["NET_ADMIN"]}


def test_host_network_hostpath_and_pid_sharing(tmp_path):
    (tmp_path / "www").mkdir()
    result = _export(tmp_path, """
services:
  web: {image: busybox, volumes: ["./www:/www:ro"]}
  side: {image: busybox, network_mode: "service:web", pid: "service:web"}
  probe: {image: busybox, network_mode: host}
""", allow_hostpath=True)
    web = _of(result, "Deployment", "web")["spec"]["template"]["spec"]
    assert web["shareProcessNamespace"] is True
    host = [v for v in web["volumes"] if "hostPath" in v]
    assert host and host[0]["hostPath"]["path"] == str(tmp_path / "www")
    assert _of(result, "Deployment", "probe")["spec"]["template"]["spec"]["hostNetwork"] is True
    assert not any("bind mount" in n.text() for n in result.notes)


def test_users_copy_each_group_and_list_routes(tmp_path):
    result = _demo(tmp_path, users=parse_users("alice,bob"))
    names = [(o["kind"], o["metadata"]["name"]) for o in result.objects]
    assert names[1:] == [("Deployment", "vscode-alice"), ("Service", "vscode-alice"), ("Deployment", "vscode-bob"),
                         ("Service", "vscode-bob"), ("Deployment", "backend"), ("ConfigMap", "demo-users")]
    bob = _of(result, "Deployment", "vscode-bob")
    assert bob["metadata"]["labels"]["stacktui.io/user"] == "bob"
    assert bob["spec"]["selector"]["matchLabels"] != _of(result, "Deployment", "vscode-alice")["spec"]["selector"]["matchLabels"]
    routes = _of(result, "ConfigMap", "demo-users")["data"]
    assert routes["users"] == "alice bob"
    assert YAML(typ="safe").load(routes["routes.json"]) == {"alice": {"vscode": "vscode-alice"},
                                                            "bob": {"vscode": "vscode-bob"}}
    assert any("MCP_SERVER_URL names vscode, which is one per user" in n.text() for n in result.notes)
    assert parse_users("3") == ("user1", "user2", "user3")
    with pytest.raises(ConfigError):
        parse_users("Alice")


def test_build_without_image_refused_with_line_and_strict_refuses_notes(tmp_path):
    with pytest.raises(ExportRefused) as refused:
        _export(tmp_path, "services:\n  ok: {image: busybox}\n  app:\n    build: .\n")
    assert refused.value.exit_code == 2
    note = refused.value.notes[0]
    assert note.where.line == 4 and "build: without image:" in note.what  # the line of `build: .`
    text = "services:\n  app:\n    image: busybox\n    devices: [\"/dev/null:/dev/x\"]\n"
    assert any("devices has no counterpart" in n.text() for n in _export(tmp_path, text).notes)
    with pytest.raises(ExportRefused) as strict:
        _export(tmp_path, strict=True)
    assert strict.value.notes[0].where.line == 4
    built = _export(tmp_path, "services:\n  app:\n    image: reg.example/app:1\n    build: .\n")
    assert any("push reg.example/app:1" in line for line in built.said)


def test_stream_reads_back_and_a_small_edit_gives_a_small_diff(tmp_path):
    first = _demo(tmp_path)
    text = kube.as_stream(first)
    assert list(YAML(typ="safe").load_all(text)) == first.objects
    assert kube.as_stream(_demo(tmp_path / "again")) == text.replace(str(tmp_path / "demo"), str(tmp_path / "again" / "demo"))
    compose = tmp_path / "demo" / "compose.yaml"
    compose.write_text(compose.read_text().replace("      - MCP_SERVER_URL=http://vscode:9001/health",
                                                   "      - MCP_SERVER_URL=http://vscode:9001/health\n      - MODE=x"))
    import difflib

    changed = [l for l in difflib.unified_diff(text.splitlines(), kube.as_stream(_export(tmp_path / "demo")).splitlines(),
                                               lineterm="", n=0) if l[:1] in "+-" and l[:3] not in ("+++", "---")]
    assert changed == ["+        - name: MODE", "+          value: x"]


def test_folder_written_whole_and_left_alone_when_an_export_fails(tmp_path):
    result = _demo(tmp_path, users=("a", "b"))
    out = tmp_path / "out"
    written = kube.write(result, out)
    assert [p.name for p in written] == sorted(p.name for p in out.glob("*.yaml"))
    assert written[1].name == "002-deployment-vscode-a.yaml"
    before = {p.name: p.read_text() for p in out.iterdir()}
    with pytest.raises(ExportRefused):
        _export(tmp_path / "demo", strict=True)  # refused before anything is written
    assert {p.name: p.read_text() for p in out.iterdir()} == before
    kube.write(_demo(tmp_path / "one"), out)  # fewer objects: the old files go
    assert [p.name[:4] + p.name.split("-", 2)[1] for p in sorted(out.glob("*.yaml"))] == [
        "001-configmap", "002-deployment", "003-service", "004-deployment"]
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep")
    with pytest.raises(ConfigError):
        kube.write(result, tmp_path / "mine")
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep"


def test_version_and_option_parsing():
    assert parse_version("v1.29.3") == (1, 29) and parse_version("1.30") == (1, 30)
    with pytest.raises(ConfigError):
        parse_version("latest")


def test_per_user_pod_names_its_own_owner_and_claims(tmp_path):
    result = _export(tmp_path, """
name: ws
services:
  ide: {image: busybox, volumes: ["home:/home"], ports: ["8080:8080"]}
  agent:
    image: busybox
    network_mode: "service:ide"
    environment: {IDE_URL: "http://ide:8080/", OTHER: "http://idea:1/"}
  api: {image: busybox, environment: {AGENT: "http://ide:9001"}}
volumes:
  home:
""", users=("ann",))
    pod = _of(result, "Deployment", "ide-ann")["spec"]["template"]["spec"]
    agent = next(c for c in pod["containers"] if c["name"] == "agent")
    assert agent["env"] == [{"name": "IDE_URL", "value": "http://ide-ann:8080/"},  # the user's own Service
                            {"name": "OTHER", "value": "http://idea:1/"}]
    assert pod["volumes"][0]["persistentVolumeClaim"]["claimName"] == "ws-home-ann"
    assert _of(result, "PersistentVolumeClaim", "ws-home-ann")["metadata"]["labels"]["stacktui.io/user"] == "ann"
    api = _of(result, "Deployment", "api")["spec"]["template"]["spec"]["containers"][0]
    assert api["env"] == [{"name": "AGENT", "value": "http://ide:9001"}]  # shared: left as written, and said
    assert any(n.service == "api" and "AGENT names ide, which is one per user" in n.what for n in result.notes)
