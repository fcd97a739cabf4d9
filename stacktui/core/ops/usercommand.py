"""The user's own commands (`[[commands]]` in config.toml), for the TUI and `stacktui run NAME SERVICE`.

A command is made ready first (`prepare`): its placeholders filled in from the project and the
engine's containers, each value quoted for the shell (core.userconf.fill), and the program to
start decided: `sh -c TEXT` on the host, or the docker CLI's `exec` into the selected service's
running container (pointed at the engine stacktui uses, as `e` is) for an interactive one.

An `output` command then runs bounded (`run_output`): on the host through core.proc (its own
process group, killed as a group and reaped at its time limit); in a container through the
engine's exec, whose time limit kills the command and its children by their host pids on a
local engine. The caller shows the text (sanitized) and the exit code. An `interactive` one
is run in the foreground by the caller (proc.interactive), with the terminal handed over.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Sequence

from stacktui.core import proc
from stacktui.core.compose.model import Project
from stacktui.core.engine.client import ContainerInfo
from stacktui.core.errors import ConfigError, NotRunning, StackError
from stacktui.core.namespaces.groups import namespace_root
from stacktui.core.ops.shell import docker_cli, docker_env
from stacktui.core.userconf import INTERACTIVE, UserCommand, fill, placeholders_in
from stacktui.core.durations import seconds

if TYPE_CHECKING:
    from stacktui.core.engine.client import Engine

OUTPUT_LIMIT = 2 * 1024 * 1024  # characters of an output command's text kept (its end)


@dataclass(frozen=True)
class Prepared:
    """A user command ready to start: the filled text, and the program that runs it."""

    command: UserCommand
    service: str | None
    text: str  # the template with its placeholders filled in, quoted
    argv: list[str]  # interactive: what to start in the foreground; output on the host: sh -c TEXT
    container_id: str | None = None  # `run`: the container it runs in
    env: dict[str, str] = field(repr=False, default_factory=dict)

    @property
    def interactive(self) -> bool:
        return self.command.mode == INTERACTIVE

    @property
    def where(self) -> str:
        return f"in {self.service}" if self.container_id else "on the host"


@dataclass(frozen=True)
class Output:
    """What an output command said (stdout and stderr together, or each in turn), and how it ended."""

    text: str
    exit_code: int | None  # None: stopped at its time limit
    timed_out: bool = False
    cut: int = 0  # characters left out from the start (past OUTPUT_LIMIT)


def find(commands: Sequence[UserCommand], name: str) -> UserCommand:
    for command in commands:
        if command.name == name:
            return command
    known = ", ".join(c.name for c in commands) or "none: add [[commands]] to config.toml"
    raise ConfigError(f"no command named {name!r} in config.toml", hint=f"the commands are {known}")


def prepare(project: Project, engine: "Engine", command: UserCommand, service: str | None, *,
            containers: list[ContainerInfo] | None = None, tty: bool = True) -> Prepared:
    """The command with its placeholders filled for `service` (None: a host command that names none)."""
    if service is None and command.needs_service:
        raise ConfigError(f"the command {command.name!r} needs a service",
                          hint=f"name one: stacktui run {command.name} SERVICE")
    if service is not None:
        if service not in project.services:
            raise ConfigError(f"no service {service!r} in project {project.name}",
                              hint=f"the services are {', '.join(project.services)}")
        if not command.offered_on(service):
            raise ConfigError(f"the command {command.name!r} is not offered on {service}",
                              hint=f"config.toml gives it services = {list(command.services)}")
    wanted = placeholders_in(command.template)
    if containers is None and (command.in_container or wanted & {"container", "port"}):
        containers = engine.project_containers(project.name)
    running = _running(containers or [], service) if service is not None else None
    if command.in_container and running is None:
        raise NotRunning(f"{service} is not running, so the command {command.name!r} cannot run in it",
                         hint=f"start it first (`stacktui restart {service}`)")
    values = _values(project, service, running, containers or [], wanted)
    text = fill(command.template, values)
    env = docker_env(engine)
    if command.in_container:
        assert running is not None
        if command.mode == INTERACTIVE:
            argv = [docker_cli(), "exec", "-i", *(["-t"] if tty else []), running.id, "sh", "-c", text]
        else:
            argv = ["sh", "-c", text]  # run through the engine's exec, not this argv
        return Prepared(command, service, text, argv, running.id, env)
    # On the host, the docker CLI a command runs reaches the engine stacktui uses.
    return Prepared(command, service, text, ["sh", "-c", text], None, env)


def prepare_on_host(command: UserCommand, project_name: str, engine_env: dict[str, str]) -> Prepared:
    """A host command that names no service: only {project} to fill. `engine_env`: the engine's
    variables (DOCKER_HOST and the like) for a docker CLI it runs."""
    if command.needs_service:
        raise ConfigError(f"the command {command.name!r} needs a service",
                          hint=f"name one: stacktui run {command.name} SERVICE")
    text = fill(command.template, {"project": project_name})
    env = {k: v for k, v in os.environ.items() if k != "DOCKER_CONTEXT"}
    return Prepared(command, None, text, ["sh", "-c", text], None, {**env, **engine_env})


def run_output(prepared: Prepared, engine: "Engine | None") -> Output:
    """Run an output command to its end or its time limit; what it printed, and its exit code."""
    command = prepared.command
    if prepared.container_id is not None and engine is not None:
        from stacktui.core.engine.execread import ExecTimedOut

        try:
            code, text = engine.exec(prepared.container_id, ["sh", "-c", prepared.text], timeout=command.timeout)
        except ExecTimedOut as exc:
            return _output(f"stacktui: {exc}", None, timed_out=True)
        except Exception as exc:
            if getattr(exc, "status_code", None) == 409:
                raise NotRunning(f"{prepared.service} stopped before the command could run") from exc
            raise StackError(f"the command {command.name!r} could not run in {prepared.service}: {exc}") from exc
        return _output(text, code)
    try:
        done = proc.run(prepared.argv, proc.Limits(command.timeout), env=prepared.env)
    except proc.TimedOut as exc:
        return _output(exc.stdout + exc.stderr + f"\nstacktui: stopped at its time limit of {seconds(command.timeout)} "
                       "(timeout in config.toml), with the programs it started", None, timed_out=True)
    except OSError as exc:
        raise StackError(f"the command {command.name!r} could not start: {exc}") from exc
    return _output(done.stdout + done.stderr, done.returncode)


def _output(text: str, code: int | None, *, timed_out: bool = False) -> Output:
    cut = max(0, len(text) - OUTPUT_LIMIT)
    return Output(text[cut:], code, timed_out, cut)


def _running(containers: list[ContainerInfo], service: str) -> ContainerInfo | None:
    return next((c for c in containers if c.service == service and c.state == "running"), None)


def _values(project: Project, service: str | None, running: ContainerInfo | None, containers: list[ContainerInfo],
            wanted: set[str]) -> dict[str, str]:
    values = {"project": project.name}
    if service is None:
        return values
    values["service"] = service
    values["owner"] = namespace_root(project, service)
    if "container" in wanted:
        mine = running or next((c for c in containers if c.service == service), None)
        if mine is None:
            raise NotRunning(f"{service} has no container, so {{container}} has no value",
                             hint=f"start it first (`stacktui restart {service}`)")
        values["container"] = mine.name
    if "port" in wanted:
        values["port"] = str(_first_port(project, service, containers))
    return values


def _first_port(project: Project, service: str, containers: list[ContainerInfo]) -> int:
    """The first host port the service's container publishes; a joiner's are its namespace owner's."""
    for name in dict.fromkeys([service, namespace_root(project, service)]):
        for c in containers:
            if c.service == name and c.state == "running" and c.ports:
                return sorted(c.ports, key=lambda p: (p.container_port, p.protocol, p.host_port))[0].host_port
    raise NotRunning(f"{service} publishes no port now, so {{port}} has no value",
                     hint="publish one in the compose file, or start the service")

