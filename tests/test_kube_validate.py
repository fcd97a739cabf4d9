"""Every object `stacktui kube export` writes passes kubernetes-validate in strict mode (its schemas ship in
the package: offline) against the three newest Kubernetes versions it bundles; bad input exits 2 with
file:line and writes nothing. The real CLI, in a copy of each stack's folder."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from kubernetes_validate import utils as kv
from ruamel.yaml import YAML

from stacktui.core.kube.options import DEFAULT_K8S_VERSION
from tests.conftest import COMPOSE_DIR
from tests.usercli import STACKTUI, cli_env

pytestmark = pytest.mark.slow  # a CLI run per stack and version: tens of seconds, no engine

NEWEST = sorted({kv.major_minor(v) for v in kv.all_versions()}, key=lambda v: tuple(map(int, v.split("."))))[-3:]
STACKS = sorted(p.name for p in COMPOSE_DIR.iterdir() if p.is_dir())


def _cli(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = cli_env(NO_COLOR="1")
    env.pop("DOCKER_HOST", None)  # an export needs no engine
    return subprocess.run([*STACKTUI, "kube", "export", *args], cwd=folder, env=env,
                          capture_output=True, text=True, timeout=120)


def _validate(stream: str, version: str) -> list[tuple[str, str]]:
    checked = []
    for obj in YAML(typ="safe").load_all(stream):
        kv.validate(obj, version, strict=True)  # raises ValidationError naming the field
        checked.append((obj["kind"], obj["metadata"]["name"]))
    return checked


def test_default_version_is_the_newest_bundled():
    assert f"{DEFAULT_K8S_VERSION[0]}.{DEFAULT_K8S_VERSION[1]}" == NEWEST[-1]
    assert len(NEWEST) == 3


@pytest.mark.parametrize("stack", STACKS)
def test_every_stack_validates_strict(stack, tmp_path):
    folder = tmp_path / stack
    shutil.copytree(COMPOSE_DIR / stack, folder)
    for version in NEWEST:
        done = _cli(folder, "--k8s-version", version, "--namespace", "team-a", "--expose", "nodeport")
        assert done.returncode == 0, done.stderr
        kinds = _validate(done.stdout, version)
        assert ("Namespace", "team-a") in kinds and any(kind == "Deployment" for kind, _ in kinds)


@pytest.mark.parametrize("extra", [["--users", "3"], ["--users", "3", "--k8s-version", "1.28", "--allow-hostpath",
                                                       "--allow-privileged", "--expose", "hostport"]])
def test_demo_per_user_validates_strict(extra, tmp_path):
    folder = tmp_path / "demo"
    shutil.copytree(COMPOSE_DIR / "demo", folder)
    done = _cli(folder, *extra)
    assert done.returncode == 0, done.stderr
    for version in NEWEST:
        kinds = _validate(done.stdout, version)
        assert [name for kind, name in kinds if kind == "Deployment"] == [
            "vscode-user1", "vscode-user2", "vscode-user3", "backend"]
        assert ("ConfigMap", "demo-users") in kinds


def test_chain_stack_one_pod_in_join_order(tmp_path):
    folder = tmp_path / "chain"
    shutil.copytree(COMPOSE_DIR / "chain", folder)
    done = _cli(folder)
    objects = list(YAML(typ="safe").load_all(done.stdout))
    gateway = next(o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == "gateway")
    pod = gateway["spec"]["template"]["spec"]
    assert [c["name"] for c in pod["initContainers"] + pod["containers"]] == ["gateway", "api", "worker"]
    assert done.stdout.startswith("# start order (Kubernetes 1.")


def test_bad_input_exits_2_with_file_and_line_and_writes_nothing(tmp_path):
    (tmp_path / "compose.yaml").write_text("services:\n  web:\n    image: busybox\n  app:\n    build: .\n"
                                           "  side:\n    image: busybox\n    network_mode: \"service:web\"\n"
                                           "    devices: [\"/dev/null:/dev/x\"]\n")
    out = tmp_path / "out"
    done = _cli(tmp_path, "-o", str(out))
    assert done.returncode == 2 and done.stdout == ""
    assert "stacktui: compose.yaml:5: app: build: without image:" in done.stderr
    assert not out.exists()
    (tmp_path / "compose.yaml").write_text((tmp_path / "compose.yaml").read_text().replace("    build: .\n",
                                                                                            "    image: app:1\n"))
    assert _cli(tmp_path, "-o", str(out)).returncode == 0
    before = sorted(p.name for p in out.iterdir())
    strict = _cli(tmp_path, "-o", str(out), "--strict")
    assert strict.returncode == 2
    assert "stacktui: compose.yaml:9: side: devices has no counterpart in a Pod spec; left out" in strict.stderr
    assert "nothing written" in strict.stderr and sorted(p.name for p in out.iterdir()) == before
    unknown = _cli(tmp_path, "nosuch")
    assert unknown.returncode == 2 and "unknown service 'nosuch'" in unknown.stderr
