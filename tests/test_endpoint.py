"""Engine resolution as the docker CLI does it, checked against contexts the docker CLI itself writes."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from stacktui.core.engine.endpoint import resolve, resolve_all
from stacktui.core.errors import ConfigError
from tests.tls_support import make_certs


def docker_cli(config: Path, *args: str) -> str:
    done = subprocess.run(["docker", *args], env={"DOCKER_CONFIG": str(config), "PATH": "/usr/bin:/bin"},
                          capture_output=True, text=True, timeout=30, check=True)
    return done.stdout


@pytest.fixture
def config(tmp_path: Path) -> Path:
    cfg = tmp_path / "dockercfg"
    certs = make_certs(tmp_path / "certs")
    docker_cli(cfg, "context", "create", "plain", "--docker", "host=unix:///tmp/plain.sock")
    docker_cli(cfg, "context", "create", "secure", "--docker",
               f"host=tcp://127.0.0.1:23760,ca={certs / 'ca.pem'},cert={certs / 'cert.pem'},key={certs / 'key.pem'}")
    docker_cli(cfg, "context", "create", "far", "--docker", "host=ssh://someone@example.invalid")
    return cfg


def test_order_is_the_docker_cli_s(config: Path) -> None:
    base = {"DOCKER_CONFIG": str(config), "HOME": "/nonexistent"}
    assert resolve(None, base).host == "unix:///var/run/docker.sock"
    docker_cli(config, "context", "use", "plain")
    assert (resolve(None, base).name, resolve(None, base).source) == ("plain", "config.json")
    assert resolve(None, {**base, "DOCKER_CONTEXT": "far"}).host == "ssh://someone@example.invalid"
    # DOCKER_HOST beats DOCKER_CONTEXT and the current context; --context beats everything.
    env = {**base, "DOCKER_CONTEXT": "far", "DOCKER_HOST": "tcp://127.0.0.1:1"}
    assert (resolve(None, env).host, resolve(None, env).source) == ("tcp://127.0.0.1:1", "DOCKER_HOST")
    assert resolve("secure", env).host == "tcp://127.0.0.1:23760"
    assert [e.name for e in resolve_all(["plain", "far", "plain"], env)] == ["plain", "far"]


def test_tls_material_and_the_env_compose_gets(config: Path) -> None:
    secure = resolve("secure", {"DOCKER_CONFIG": str(config)})
    assert secure.tls is not None and secure.tls.verify
    # the CLI copied the CA into the context's own TLS folder: that copy is the one used
    assert Path(secure.tls.file("ca.pem") or "").read_bytes() == (config.parent / "certs" / "ca.pem").read_bytes()
    assert str(config) in secure.tls.file("ca.pem")
    env = secure.env()
    assert env["DOCKER_HOST"] == "tcp://127.0.0.1:23760" and env["DOCKER_TLS_VERIFY"] == "1"
    assert Path(env["DOCKER_CERT_PATH"], "key.pem").is_file()
    assert env["DOCKER_CONTEXT"] == ""  # a context in the caller's env cannot redirect Compose
    assert not secure.is_local and resolve("plain", {"DOCKER_CONFIG": str(config)}).is_local
    from_env = resolve(None, {"DOCKER_HOST": "tcp://10.0.0.1:2376", "DOCKER_TLS_VERIFY": "1",
                              "DOCKER_CERT_PATH": "/certs"})
    assert from_env.tls is not None and str(from_env.tls.cert_dir) == "/certs"
    assert from_env.env()["DOCKER_CERT_PATH"] == "/certs"


def test_unknown_context_names_the_fix(config: Path) -> None:
    with pytest.raises(ConfigError) as err:
        resolve("nope", {"DOCKER_CONFIG": str(config)})
    assert "docker context 'nope' (--context) does not exist" in str(err.value)
    assert "docker context ls" in str(err.value)
