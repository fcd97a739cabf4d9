"""The engine adapter: the only module that imports docker or talks to the engine's API.

Everything here is synchronous and bounded by a timeout; callers run it in
threads (the TUI in workers).
"""
from __future__ import annotations

import json
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Iterator
from urllib.parse import quote, urlencode

from stacktui.core.engine import execread, rawhttp
from stacktui.core.engine.endpoint import DEFAULT_HOST, Endpoint
from stacktui.core.errors import EngineUnavailable
from stacktui.core.durations import seconds

if TYPE_CHECKING:
    from stacktui.core.engine.follower import EventFollower

log = logging.getLogger(__name__)

PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"
NUMBER_LABEL = "com.docker.compose.container-number"
ONEOFF_LABEL = "com.docker.compose.oneoff"
WORKDIR_LABEL = "com.docker.compose.project.working_dir"
FILES_LABEL = "com.docker.compose.project.config_files"
API_TIMEOUT = 30
INSPECT_THREADS = 8


class EngineAPIError(Exception):
    """The engine answered with an error; `status_code` as on docker-py's errors (404: no such object)."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code


def _answer(method: str, path: str, status: int, data: Any, *, ok: bool) -> Any:
    """The decoded answer of a raw call, or EngineAPIError with the engine's own words."""
    if ok:
        return data
    message = data.get("message") if isinstance(data, dict) else None
    raise EngineAPIError(status, message or f"HTTP {status} from the engine for {method} {path.split('?')[0]}")


def parse_time(value: str | None) -> datetime | None:
    """Docker's RFC 3339 UTC timestamps (nanoseconds, trailing Z); the zero time means never."""
    if not value or value.startswith("0001-01-01"):
        return None
    head, _, frac = value.rstrip("Z").partition(".")
    try:
        stamp = datetime.fromisoformat(head).replace(tzinfo=timezone.utc)
    except ValueError:
        return None
    micros = int((frac[:6] or "0").ljust(6, "0")) if frac[:6].isdigit() else 0
    return stamp.replace(microsecond=micros)


@dataclass(frozen=True)
class PublishedPort:
    container_port: int
    protocol: str
    host_ip: str
    host_port: int


@dataclass
class ContainerInfo:
    """What one inspect says about one container, flattened for the model."""

    id: str
    name: str
    project: str
    service: str
    number: int
    state: str  # created, running, paused, restarting, removing, exited, dead
    exit_code: int
    oom_killed: bool
    health: str | None  # starting, healthy, unhealthy; None without a healthcheck
    health_output: str | None  # last healthcheck output
    started_at: datetime | None
    finished_at: datetime | None
    network_mode: str
    ipc_mode: str
    pid_mode: str
    pid: int  # host PID of the init process, 0 when not running
    restart_count: int
    ports: list[PublishedPort] = field(default_factory=list)
    ip_addresses: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    image: str = ""

    @classmethod
    def from_inspect(cls, attrs: dict[str, Any]) -> "ContainerInfo":
        labels = (attrs.get("Config") or {}).get("Labels") or {}
        state = attrs.get("State") or {}
        host = attrs.get("HostConfig") or {}
        health = state.get("Health") or None
        last_out = None
        if health and health.get("Log"):
            last_out = (health["Log"][-1].get("Output") or "").strip()
        ports: list[PublishedPort] = []
        for key, binds in ((attrs.get("NetworkSettings") or {}).get("Ports") or {}).items():
            cport, _, proto = key.partition("/")
            for b in binds or []:
                if b.get("HostPort"):
                    ports.append(PublishedPort(int(cport), proto or "tcp", b.get("HostIp") or "", int(b["HostPort"])))
        ips = {
            net: (cfg.get("IPAddress") or "")
            for net, cfg in ((attrs.get("NetworkSettings") or {}).get("Networks") or {}).items()
            if cfg.get("IPAddress")
        }
        try:
            number = int(labels.get(NUMBER_LABEL, "1"))
        except ValueError:
            number = 1
        return cls(
            id=attrs["Id"],
            name=(attrs.get("Name") or "").lstrip("/"),
            project=labels.get(PROJECT_LABEL, ""),
            service=labels.get(SERVICE_LABEL, ""),
            number=number,
            state=state.get("Status") or "unknown",
            exit_code=int(state.get("ExitCode") or 0),
            oom_killed=bool(state.get("OOMKilled")),
            health=(health or {}).get("Status") if health else None,
            health_output=last_out,
            started_at=parse_time(state.get("StartedAt")),
            finished_at=parse_time(state.get("FinishedAt")),
            network_mode=host.get("NetworkMode") or "",
            ipc_mode=host.get("IpcMode") or "",
            pid_mode=host.get("PidMode") or "",
            pid=int(state.get("Pid") or 0),
            restart_count=int(attrs.get("RestartCount") or 0),
            ports=ports,
            ip_addresses=ips,
            labels=dict(labels),
            image=(attrs.get("Config") or {}).get("Image") or "",
        )

    def joined(self, kind: str) -> str | None:
        """The container id whose namespace of this kind ('network', 'ipc', 'pid') we joined."""
        mode = {"network": self.network_mode, "ipc": self.ipc_mode, "pid": self.pid_mode}[kind]
        if mode.startswith("container:"):
            return mode.split(":", 1)[1]
        return None


def _explain(exc: Exception, host: str | None) -> EngineUnavailable:
    text = str(exc)
    where = host or os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    if "CERTIFICATE" in text.upper() or "SSL" in text:
        return EngineUnavailable(f"TLS with the Docker engine at {where} failed: {text[:200]}",
                                 hint="check DOCKER_CERT_PATH (ca.pem, cert.pem, key.pem) or the context's TLS files")
    if "Permission denied" in text or "PermissionError" in text:
        return EngineUnavailable(
            f"no permission on the Docker socket {where}",
            hint="add your user to the docker group (then log in again), or run as root",
        )
    return EngineUnavailable(
        f"the Docker engine at {where} does not answer",
        hint="start Docker, or set DOCKER_HOST to a running engine",
    )


def lost_engine(exc: BaseException, host: str | None) -> EngineUnavailable | None:
    """A failed engine call in the user's words when it means the engine went away, else None.

    docker-py raises requests' ConnectionError or a timeout for a socket that vanished, refused
    or was cut mid-call; a raw socket reports ConnectionError. An answer the engine did give
    (a 404, a 409: docker.errors) is not one of them, nor is any other OSError (a file's).
    """
    if isinstance(exc, EngineUnavailable):
        return exc
    if not (isinstance(exc, ConnectionError) or type(exc).__module__.startswith(("requests.", "urllib3."))):
        return None
    where = host or os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    return EngineUnavailable(f"the Docker engine at {where} stopped answering",
                             hint="once it answers again, `stacktui status` shows where each service stands")


class Engine:
    """A docker-py client with the calls stacktui needs, each bounded in time.

    For a local engine (a unix socket) the reads (ping, list, inspect, version, events, log
    tails) and start, stop, restart and exec go over the socket directly (core.rawhttp); the
    docker-py client is made on first use by the rest: a command or the TUI's first frame never
    waits for its import.
    """

    def __init__(self, client: Any = None, host: str | None = None, *, timeout: int = API_TIMEOUT) -> None:
        if client is None and host is None:
            raise TypeError("Engine needs a docker client or a host")
        self._client = client
        self._timeout = timeout
        self._client_lock = threading.Lock()
        self.host = host or getattr(client.api, "base_url", None)
        self.endpoint = Endpoint(self.host or DEFAULT_HOST)
        self._proxy: Any = None  # an SSHProxy for an ssh:// engine, closed with the engine
        self._follower: Any = None  # the one EventFollower of this engine, made on first use

    @classmethod
    def from_env(cls, timeout: int = API_TIMEOUT, context: str | None = None) -> "Engine":
        """The engine the docker CLI would pick (core.engine.endpoint), pinged once."""
        from stacktui.core.engine.endpoint import resolve

        return cls.connect(resolve(context), timeout)

    @classmethod
    def connect(cls, endpoint: "Endpoint", timeout: int = API_TIMEOUT) -> "Engine":
        where = endpoint.label if endpoint.label == endpoint.host else f"{endpoint.host} (context {endpoint.name})"
        proxy = None
        if endpoint.scheme == "ssh":
            from stacktui.core.engine.sshproxy import SSHProxy

            proxy = SSHProxy(endpoint.host)  # the engine on a unix socket of ours: every path below works
        if proxy is not None or (endpoint.is_local and endpoint.host.startswith("unix://")):
            sock = proxy.path if proxy is not None else endpoint.host[len("unix://"):]
            try:
                status, _ = rawhttp.get(sock, "/_ping", timeout=timeout)
                if status != 200:
                    raise RuntimeError(f"HTTP {status} from /_ping")
            except (OSError, RuntimeError) as exc:
                if proxy is not None:
                    proxy.close()
                    raise EngineUnavailable(f"the Docker engine at {where} does not answer over ssh"
                                            + (f": {proxy.last_error}" if proxy.last_error else ""),
                                            hint="check that `ssh` reaches that host without a password prompt "
                                                 "and that `docker` runs there") from exc
                raise _explain(exc, where) from exc
            engine = cls(None, endpoint.host, timeout=timeout)
            engine.endpoint = endpoint
            engine._proxy = proxy
            return engine
        from docker.errors import DockerException  # imported here: the first frame of the TUI does not need it

        try:
            client = endpoint.sdk_client(timeout)
            client.ping()
        except (DockerException, OSError) as exc:
            raise _explain(exc, where) from exc
        except Exception as exc:
            # requests' own errors (a TLS handshake refused, an ssh that exits) are not OSErrors
            if lost_engine(exc, where) is None:
                raise
            raise _explain(exc, where) from exc
        engine = cls(client, endpoint.host, timeout=timeout)
        engine.endpoint = endpoint
        return engine

    @property
    def client(self) -> Any:
        if self._client is None:
            with self._client_lock:
                if self._client is None:
                    import docker

                    sock = self.socket_path  # an ssh engine's too: its proxy socket
                    self._client = docker.DockerClient(base_url=f"unix://{sock}" if sock else self.host,
                                                       timeout=self._timeout)
        return self._client

    @property
    def api(self) -> Any:
        return self.client.api

    @property
    def socket_path(self) -> str | None:
        """The unix socket path, for the raw reads and the fast log reader: the engine's own, or the
        proxy of an ssh engine (core.engine.sshproxy); None for tcp engines."""
        if self._proxy is not None:
            return self._proxy.path
        host = self.host or ""
        if host.startswith("unix://"):
            return host[len("unix://"):]
        if host.startswith("http+docker://"):
            return "/var/run/docker.sock"
        return None

    @property
    def _raw(self) -> str | None:
        """The socket for one-shot raw reads. Not an ssh engine's: each raw read (HTTP/1.0, one
        connection each) would start `docker system dial-stdio` there again, 0.2 s apiece measured;
        docker-py keeps its connections, and so its sessions, open."""
        return None if self._proxy is not None else self.socket_path

    def is_local(self) -> bool:
        """On this machine: its processes in /proc, its published ports here (an ssh engine's socket is ours,
        the engine is not)."""
        return self.socket_path is not None and self.endpoint.scheme != "ssh"

    def info(self) -> dict[str, Any]:
        sock = self._raw
        return self._get(sock, "/info") if sock else self.api.info()

    def version(self) -> dict[str, Any]:
        sock = self._raw
        return self._get(sock, "/version") if sock else self.api.version()

    def inspect(self, container_id: str) -> ContainerInfo:
        return ContainerInfo.from_inspect(self.inspect_raw(container_id))

    def inspect_raw(self, container_id: str) -> dict[str, Any]:
        sock = self._raw
        if sock:
            return self._get(sock, f"/containers/{quote(container_id, safe='')}/json")
        return self.api.inspect_container(container_id)

    def project_containers(self, project: str, *, all: bool = True) -> list[ContainerInfo]:
        """Every container of a project, oldest number first; one-off `run` containers left out."""
        ids = [summary["Id"] for summary in self.containers_by_label(f"{PROJECT_LABEL}={project}", all=all)
               if (summary.get("Labels") or {}).get(ONEOFF_LABEL) != "True"]
        if len(ids) > INSPECT_THREADS:
            # The engine answers inspects concurrently: 200 of them one after another were most
            # of the TUI's start-up on a large project.
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(INSPECT_THREADS) as pool:
                found = list(pool.map(self._inspect_if_there, ids))
        else:
            found = [self._inspect_if_there(cid) for cid in ids]
        out = [c for c in found if c is not None]
        out.sort(key=lambda c: (c.service, c.number))
        return out

    def _inspect_if_there(self, container_id: str) -> ContainerInfo | None:
        try:
            return self.inspect(container_id)
        except Exception as exc:
            if getattr(exc, "status_code", None) == 404:
                return None  # removed between list and inspect
            raise

    def containers_by_label(self, label: str, *, all: bool = True) -> list[dict[str, Any]]:
        return self.containers(all=all, filters={"label": [label]})

    def containers(self, *, all: bool = True, filters: dict[str, list[str]] | None = None) -> list[dict[str, Any]]:
        """The engine's container summaries (`docker ps`), not inspected."""
        sock = self._raw
        if sock:
            query: dict[str, Any] = {"all": int(all)}
            if filters:
                query["filters"] = json.dumps(filters)
            return self._get(sock, f"/containers/json?{urlencode(query)}")
        return self.api.containers(all=all, filters=filters)

    def _get(self, sock: str, path: str) -> Any:
        status, data = rawhttp.get_json(sock, path, timeout=self._timeout)
        return _answer("GET", path, status, data, ok=status == 200)

    def _post(self, path: str, body: Any = None, *, wait: float = 0.0) -> Any:
        """A POST over the socket; an error status raises EngineAPIError with the engine's words, as
        docker-py does (304, already started or stopped, is no error there either)."""
        assert self._raw is not None
        status, data = rawhttp.post(self._raw, path, body, timeout=self._timeout + wait)
        return _answer("POST", path, status, data, ok=status < 400)

    # Over the socket for a local engine: `stacktui restart` must not wait for docker-py's import.
    def restart(self, container_id: str, timeout: int = 10) -> None:
        if self._raw:
            self._post(f"/containers/{quote(container_id, safe='')}/restart?t={int(timeout)}", wait=timeout)
        else:
            self.api.restart(container_id, timeout=timeout)

    def start(self, container_id: str) -> None:
        if self._raw:
            self._post(f"/containers/{quote(container_id, safe='')}/start")
        else:
            self.api.start(container_id)

    def stop(self, container_id: str, timeout: int = 10) -> None:
        if self._raw:
            self._post(f"/containers/{quote(container_id, safe='')}/stop?t={int(timeout)}", wait=timeout)
        else:
            self.api.stop(container_id, timeout=timeout)

    def kill(self, container_id: str, signal: str = "KILL") -> None:
        self.api.kill(container_id, signal=signal)

    def exec(self, container_id: str, cmd: list[str], timeout: float = 10) -> tuple[int, str]:
        """Run a command in a container; exit code and combined output, within timeout seconds.

        Past the limit stacktui stops waiting and raises ExecTimedOut; on a local engine the
        command and its children are killed first (by their host pids), on a remote one the
        engine offers no way to, and the message says it may still run.
        """
        raw = self._raw
        if raw:
            exec_id = self._post(f"/containers/{quote(container_id, safe='')}/exec",
                                 {"AttachStdout": True, "AttachStderr": True, "Tty": False, "Cmd": list(cmd)})["Id"]
        else:
            exec_id = self.api.exec_create(container_id, cmd, stdout=True, stderr=True)["Id"]
        deadline = time.monotonic() + timeout
        sock, first = execread.start(raw, exec_id, self._timeout) if raw else (
            self.api.exec_start(exec_id, socket=True), b"")
        try:
            output = execread.read_until(sock, deadline, first)
        except TimeoutError:
            pid = int(self._exec_inspect(exec_id).get("Pid") or 0)
            stopped = self.is_local() and pid > 0 and execread.stop_exec_process(pid)
            raise execread.ExecTimedOut(
                f"`{' '.join(cmd)}` did not finish within {seconds(timeout)} in container {container_id[:12]}",
                hint="it was stopped" if stopped else "stacktui stopped waiting; it may still run in the container"
            ) from None
        finally:
            sock.close()
        code = self._exec_inspect(exec_id).get("ExitCode")
        return (int(code) if code is not None else -1), output.decode("utf-8", "replace")

    def _exec_inspect(self, exec_id: str) -> dict[str, Any]:
        raw = self._raw
        return self._get(raw, f"/exec/{exec_id}/json") if raw else self.api.exec_inspect(exec_id)

    def stats_once(self, container_id: str) -> dict[str, Any]:
        """The engine's counters of one container now (API 1.41 one-shot: no stream, no second sample)."""
        sock = self.socket_path
        if sock:
            return self._get(sock, f"/containers/{quote(container_id, safe='')}/stats?stream=false&one-shot=true")
        return self.api.stats(container_id, stream=False, one_shot=True)

    def events(self, project: str | None = None, since: float | None = None,
               until: float | None = None, actions: list[str] | None = None) -> Iterator[dict[str, Any]]:
        """Container events, decoded; filtered by project label and actions when given. Close with .close().

        `actions` filters on the engine's side: a 1 s healthcheck alone sends three exec events a
        second per container, which a watcher that wants state changes need not decode.
        """
        filters: dict[str, Any] = {"type": ["container"]}
        if project:
            filters["label"] = [f"{PROJECT_LABEL}={project}"]
        if actions:
            filters["event"] = list(actions)
        sock = self._raw
        if sock:
            query: dict[str, Any] = {"filters": json.dumps(filters)}
            for name, when in (("since", since), ("until", until)):
                if when is not None:
                    query[name] = f"{when:.9f}" if isinstance(when, float) else str(when)
            return rawhttp.stream_json(sock, f"/events?{urlencode(query)}", timeout=self._timeout)
        return self.api.events(since=since, until=until, filters=filters, decode=True)

    def logs_tail(self, container_id: str, lines: int = 20, since: float | None = None) -> list[str]:
        """The last `lines` lines of a container's output (since a unix time, in seconds), stdout and stderr merged."""
        sock = self._raw
        if sock:
            from stacktui.core.engine.logstream import read_all_logs  # the TUI's frame parser, and its sanitizing

            tty = bool((self.inspect_raw(container_id).get("Config") or {}).get("Tty"))
            got = read_all_logs(sock, container_id, tail=lines, tty=tty,
                                since=None if since is None else int(since * 1_000_000_000))
            return [line.text for line in got]
        kwargs: dict[str, Any] = {"stdout": True, "stderr": True, "tail": lines, "timestamps": False}
        if since is not None:
            kwargs["since"] = since
        raw = self.api.logs(container_id, **kwargs)
        return raw.decode("utf-8", "replace").splitlines()

    def log_stream(self, container_id: str, *, since: int | None, tail: int | str) -> Any:
        """A following log stream through docker-py (engines not on a local socket): bytes chunks.

        `since` is in nanoseconds; docker-py takes seconds, so the decoder drops what it has.
        The stream's `close()` ends a blocking read from another thread.
        """
        kwargs: dict[str, Any] = {"stdout": True, "stderr": True, "stream": True, "follow": True,
                                  "timestamps": True, "tail": tail}
        if since is not None:
            kwargs["since"] = since / 1e9
        return self.api.logs(container_id, **kwargs)

    def now(self) -> datetime:
        return datetime.now(timezone.utc)

    def follower(self) -> "EventFollower":
        """The one follower of this engine's events that every listener subscribes to."""
        with self._client_lock:
            if self._follower is None:
                from stacktui.core.engine.follower import EventFollower

                self._follower = EventFollower(self)
            return self._follower

    def close(self) -> None:
        if self._client is not None:
            try:
                self._client.close()
            except Exception as exc:  # closing is best effort; nothing to report to a user
                log.debug("closing the docker client: %s", exc)
        if self._proxy is not None:
            self._proxy.close()
