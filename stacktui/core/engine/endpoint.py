"""Which engine to talk to, resolved the way the docker CLI resolves it.

Order (docker/cli `resolveContextName`): `--context NAME`; else `DOCKER_HOST` (the
"default" context, with `DOCKER_TLS_VERIFY`, `DOCKER_CERT_PATH`, `DOCKER_TLS`); else
`DOCKER_CONTEXT`; else `currentContext` in `$DOCKER_CONFIG/config.json` (default
`~/.docker`); else the default socket. A named context lives in
`$DOCKER_CONFIG/contexts/meta/<sha256 of name>/meta.json`, its TLS files in
`contexts/tls/<same>/docker/{ca,cert,key}.pem`.

Compose is handed the resolved endpoint as plain `DOCKER_HOST` and TLS variables
(`env()`), so it cannot resolve a different engine than stacktui did.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from stacktui.core.errors import ConfigError

DEFAULT_HOST = "unix:///var/run/docker.sock"
DEFAULT_CONTEXT = "default"
# Every variable through which a docker client picks an engine: a Compose subprocess gets each
# one set (empty when unused: the docker CLI treats "" as unset) so nothing of ours leaks in.
ENGINE_VARS = ("DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "DOCKER_TLS")


@dataclass(frozen=True)
class TLSFiles:
    """Client TLS for a tcp:// engine: a folder holding ca.pem, cert.pem, key.pem (each optional)."""

    cert_dir: Path
    verify: bool

    def file(self, name: str) -> str | None:
        path = self.cert_dir / name
        return str(path) if path.is_file() else None


@dataclass(frozen=True)
class Endpoint:
    """One engine: its address, its TLS, the name a user knows it by and how it was chosen."""

    host: str
    name: str = DEFAULT_CONTEXT  # the context name, or "default"
    source: str = "default socket"  # "--context", "DOCKER_HOST", "DOCKER_CONTEXT", "config.json"
    tls: TLSFiles | None = None

    @property
    def scheme(self) -> str:
        return self.host.split("://", 1)[0] if "://" in self.host else "unix"

    @property
    def is_local(self) -> bool:
        """A unix socket: the engine runs on this machine, and its raw socket can be read directly."""
        return self.scheme in ("unix", "npipe")

    @property
    def address(self) -> str | None:
        """The engine's host as this machine reaches it (where its published ports are); None when local."""
        if self.is_local:
            return None
        from urllib.parse import urlsplit

        return urlsplit(self.host).hostname

    @property
    def label(self) -> str:
        """How a row or header names this engine: the context's name, else its address."""
        return self.name if self.name != DEFAULT_CONTEXT else self.host

    def env(self) -> dict[str, str]:
        """The variables a docker or Compose subprocess needs to reach exactly this engine."""
        out = {var: "" for var in ENGINE_VARS}
        out["DOCKER_HOST"] = self.host
        if self.tls is not None:
            out["DOCKER_CERT_PATH"] = str(self.tls.cert_dir)
            out["DOCKER_TLS_VERIFY" if self.tls.verify else "DOCKER_TLS"] = "1"
        return out

    def sdk_client(self, timeout: int) -> Any:
        """A docker-py client for a tcp:// engine (TLS included); ssh:// goes through engine.sshproxy."""
        import docker

        kwargs: dict[str, Any] = {"base_url": self.host, "timeout": timeout}
        if self.tls is not None:
            from docker.tls import TLSConfig

            cert, key = self.tls.file("cert.pem"), self.tls.file("key.pem")
            kwargs["tls"] = TLSConfig(client_cert=(cert, key) if cert and key else None,
                                      ca_cert=self.tls.file("ca.pem") if self.tls.verify else None,
                                      verify=self.tls.verify)
        if self.tls is None:
            return docker.DockerClient(**kwargs)
        # DockerClient only makes its APIClient; ours keeps the engine's CA (see _VerifyingAPIClient).
        client = docker.DockerClient.__new__(docker.DockerClient)
        client.api = _verifying_api_client()(**kwargs)
        return client


def _verifying_api_client() -> Any:
    """docker-py's APIClient whose TLS `verify` (the engine's CA) wins over REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE.

    requests lets those variables replace a session's own `verify` on every request
    (psf/requests#3829): with either set (common; set on these machines) every TLS call to the
    engine failed certificate verification, the first one inside the client's constructor.
    Proxies from the environment still apply, as for the docker CLI.
    """
    import docker

    class _VerifyingAPIClient(docker.APIClient):
        def merge_environment_settings(self, url: Any, proxies: Any, stream: Any, verify: Any,
                                       cert: Any) -> dict[str, Any]:
            settings = super().merge_environment_settings(url, proxies, stream, verify, cert)
            settings["verify"] = self.verify
            return settings

    return _VerifyingAPIClient


def config_dir(environ: Mapping[str, str]) -> Path:
    given = environ.get("DOCKER_CONFIG")
    return Path(given) if given else Path(environ.get("HOME") or Path.home()) / ".docker"


def _context_id(name: str) -> str:
    import hashlib  # only for a named context (its OpenSSL binding costs the TUI's start-up 3-4 ms)

    return hashlib.sha256(name.encode()).hexdigest()


def resolve(context: str | None = None, environ: Mapping[str, str] | None = None) -> Endpoint:
    """The engine the docker CLI would use with these options and this environment."""
    env = os.environ if environ is None else environ
    if context:
        return load_context(context, env, source="--context")
    if env.get("DOCKER_HOST"):
        return from_host_env(env)
    if env.get("DOCKER_CONTEXT"):
        return load_context(env["DOCKER_CONTEXT"], env, source="DOCKER_CONTEXT")
    current = _current_context(env)
    if current:
        return load_context(current, env, source="config.json")
    return Endpoint(DEFAULT_HOST)


def from_host_env(env: Mapping[str, str]) -> Endpoint:
    host = env.get("DOCKER_HOST") or DEFAULT_HOST
    tls = None
    if host.startswith("tcp://") and (env.get("DOCKER_TLS_VERIFY") or env.get("DOCKER_TLS")):
        cert_dir = Path(env.get("DOCKER_CERT_PATH") or config_dir(env))
        tls = TLSFiles(cert_dir, verify=bool(env.get("DOCKER_TLS_VERIFY")))
    return Endpoint(host, source="DOCKER_HOST" if env.get("DOCKER_HOST") else "default socket", tls=tls)


def _current_context(env: Mapping[str, str]) -> str | None:
    path = config_dir(env) / "config.json"
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read the docker CLI's {path}: {exc}",
                          hint="fix the file, or choose an engine with --context or DOCKER_HOST") from exc
    name = data.get("currentContext") if isinstance(data, dict) else None
    return str(name) if name else None


def load_context(name: str, env: Mapping[str, str], *, source: str) -> Endpoint:
    """A named docker context; "default" is the engine the environment names."""
    if name == DEFAULT_CONTEXT:
        return from_host_env(env)
    base = config_dir(env) / "contexts"
    meta = base / "meta" / _context_id(name) / "meta.json"
    try:
        data = json.loads(meta.read_text())
    except FileNotFoundError:
        raise ConfigError(f"docker context {name!r} ({source}) does not exist in {base}",
                          hint="list them with `docker context ls`") from None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read docker context {name!r} at {meta}: {exc}") from exc
    docker_ep = ((data.get("Endpoints") or {}).get("docker") or {}) if isinstance(data, dict) else {}
    host = docker_ep.get("Host") or ""
    if not host:
        raise ConfigError(f"docker context {name!r} names no docker endpoint", hint=f"see {meta}")
    cert_dir = base / "tls" / _context_id(name) / "docker"
    tls = None
    if host.startswith("tcp://") and (cert_dir.is_dir() or docker_ep.get("SkipTLSVerify")):
        tls = TLSFiles(cert_dir, verify=not docker_ep.get("SkipTLSVerify"))
    return Endpoint(host, name=name, source=source, tls=tls)


def resolve_all(contexts: list[str] | None, environ: Mapping[str, str] | None = None) -> list[Endpoint]:
    """One endpoint per `--context` given (in order, duplicates once), else the one resolve() picks."""
    if not contexts:
        return [resolve(None, environ)]
    seen: dict[str, Endpoint] = {}
    for name in contexts:
        if name not in seen:
            seen[name] = resolve(name, environ)
    return list(seen.values())
