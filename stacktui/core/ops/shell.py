"""The `e` key and `stacktui shell SERVICE`: an interactive shell in a service's running container.

The shell is the docker CLI's `exec -it` (it owns the terminal's raw mode, resizes and
detach keys), pointed at the engine stacktui itself talks to. bash when the image has it,
else sh; which one is asked of the container first, in one bounded exec. The caller runs
the command in the foreground and waits for it: it ends when the user leaves the shell
or the container stops.
"""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from stacktui.core.compose.model import Project
from stacktui.core.engine.client import ContainerInfo
from stacktui.core.engine.endpoint import DEFAULT_HOST
from stacktui.core.errors import ConfigError, NotRunning, StackError

if TYPE_CHECKING:
    from stacktui.core.engine.client import Engine

PICK_SHELL = ["sh", "-c", "command -v bash >/dev/null 2>&1 && echo bash || echo sh"]
PICK_TIMEOUT = 10.0
KIND_WORDS = {"network": "network", "ipc": "IPC", "pid": "PID"}


@dataclass(frozen=True)
class ShellCommand:
    service: str
    container_id: str
    shell: str  # bash or sh
    argv: list[str]
    env: dict[str, str] = field(repr=False, default_factory=dict)
    banner: str = ""  # shown before the shell starts: where it is, and how to come back


def shell_command(project: Project, engine: "Engine", service: str, *, tty: bool = True,
                  containers: list[ContainerInfo] | None = None) -> ShellCommand:
    """What to run for a shell in `service`'s container; NotRunning when it has no running one."""
    if service not in project.services:
        raise ConfigError(f"no service {service!r} in project {project.name}",
                          hint=f"the services are {', '.join(project.services)}")
    docker = docker_cli()
    containers = containers if containers is not None else engine.project_containers(project.name)
    mine = [c for c in containers if c.service == service]
    running = next((c for c in mine if c.state == "running"), None)
    if running is None:
        state = f"{mine[0].state} (exit code {mine[0].exit_code})" if mine and mine[0].state == "exited" else \
            (mine[0].state if mine else "not created")
        raise NotRunning(f"{service} is not running: its container is {state}, so there is no shell to open",
                         hint=f"start it first (`stacktui restart {service}`)")
    shell = pick_shell(engine, running.id)
    banner = f"{shell} in {service} ({running.name}){where(running, containers)}; `exit` returns to stacktui"
    argv = [docker, "exec", "-i", *(["-t"] if tty else []), running.id, shell]
    return ShellCommand(service, running.id, shell, argv, docker_env(engine), banner)


def docker_cli() -> str:
    """The docker command-line client's path (it owns `exec -it`: raw mode, resizes, detach keys)."""
    docker = shutil.which("docker")
    if docker is None:
        raise StackError("this needs the docker command-line client, which is not on PATH",
                         hint="install the docker CLI (docker-ce-cli), or use `docker exec` from elsewhere")
    return docker


def docker_env(engine: "Engine") -> dict[str, str]:
    """This environment, with the docker CLI pointed at the engine stacktui talks to, whatever its own
    context would pick."""
    env = dict(os.environ)
    env["DOCKER_HOST"] = engine.host if engine.host and not engine.host.startswith("http+docker") else DEFAULT_HOST
    env.pop("DOCKER_CONTEXT", None)
    return env


def pick_shell(engine: "Engine", container_id: str) -> str:
    try:
        code, out = engine.exec(container_id, PICK_SHELL, timeout=PICK_TIMEOUT)
    except Exception as exc:  # the engine's refusal says why: no sh in the image, container stopped
        if getattr(exc, "status_code", None) == 409:
            raise NotRunning("the container stopped before the shell could start") from exc
        raise StackError(f"cannot start a shell in the container: {exc}",
                         hint="the image may have no shell at all (a distroless image): use `docker debug`") from exc
    words = out.split()
    if code != 0 or not words or words[-1] not in ("bash", "sh"):
        raise StackError(f"the image has no usable shell (sh answered {code}: {out.strip()[:120]!r})",
                         hint="use `docker debug`, or add busybox to the image")
    return words[-1]


def where(c: ContainerInfo, containers: list[ContainerInfo]) -> str:
    """Which other container's namespaces the shell lives in, in words: ', in vscode's network and IPC namespaces'."""
    by_id = {x.id: x for x in containers}
    owners: dict[str, list[str]] = {}
    for kind, word in KIND_WORDS.items():
        joined = c.joined(kind)
        if joined is None:
            continue
        owner = by_id.get(joined)
        name = owner.service if owner is not None else f"container {joined[:12]} (gone: a stale namespace)"
        owners.setdefault(name, []).append(word)
    if not owners:
        return ""
    parts = [f"{name}'s {' and '.join(kinds)} namespace{'s' if len(kinds) > 1 else ''}"
             for name, kinds in owners.items()]
    return ", in " + "; ".join(parts)
