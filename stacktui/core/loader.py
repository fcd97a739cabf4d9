"""Load a Project: Compose's effective config plus the source files for lines and extensions."""
from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from stacktui.core import proc
from stacktui.core.compose import cache as configcache
from stacktui.core.compose import cli as composecli
from stacktui.core.compose.cli import ComposeTarget
from stacktui.core.compose.known import KnownSource, RecordingSource
from stacktui.core.errors import ConfigError, SourceRef
from stacktui.core.loop import Once
from stacktui.core.compose.model import DependsOn, Extension, PortSpec, Project, ServiceSpec
from stacktui.core.compose.nesting import deep_nesting
from stacktui.core.engine.client import FILES_LABEL, WORKDIR_LABEL

if TYPE_CHECKING:
    from stacktui.core.compose.source import SourceIndex
    from stacktui.core.engine.client import ContainerInfo, Engine

    # The files' text as the model asks it: read now, replayed from the cache, or read and recorded.
    Source = SourceIndex | KnownSource | RecordingSource

ENV_FILE_LABEL = "com.docker.compose.project.environment_file"


def load_project(target: ComposeTarget) -> Project:
    """The project as Compose sees it. Raises ConfigError naming file and line."""
    if not target.files:
        raise ConfigError("no compose file given", hint="pass -f FILE, or attach with -p NAME")
    # Compose's answer from a run whose inputs were the same, and what the files told that run.
    cached, key, known = configcache.lookup(target)
    if cached is not None and known is not None:
        # Neither Compose nor the files are read (nor ruamel.yaml imported) on the way to the first
        # frame; a question the answers do not hold reads the files then (compose.known).
        return _checked(project_from_config(cached, KnownSource(target.files, known), target))
    stop_early = proc.Cancel()
    early = _start_compose_early(target, stop_early) if cached is None else None
    from stacktui.core.compose.source import SourceIndex

    try:
        source = SourceIndex.load(list(target.files))  # YAML errors with lines come first
    except BaseException:
        if early is not None:
            # The files' error is the answer: Compose is stopped, not waited for (on a file nested past
            # stacktui's limit it reads on for seconds), and reaped before the error goes up.
            stop_early()
            early.result()
        raise
    if cached is not None:
        config = cached
    else:
        config = effective_config(target, source, early.result() if early is not None else None)
    recording = RecordingSource(source)
    project = _checked(project_from_config(config, recording, target))
    project.source = source
    configcache.store(target, key, config, recording.answers)
    return project


def _checked(project: Project) -> Project:
    from stacktui.core.namespaces.graph import project_graph

    project_graph(project)  # a missing target or a cycle Compose let through still names its line
    return project


def _start_compose_early(target: ComposeTarget, cancel: proc.Cancel
                         ) -> "Once[tuple[subprocess.CompletedProcess[str], dict[str, Any] | None]] | None":
    """Compose's `config` begun while stacktui reads the files itself, when no file can hold an alias.

    The alias budget must see a file before Compose does; a file without a single alias has
    nothing to count, and then the two reads overlap (Compose's 4 s and stacktui's own on a
    2,000-service file).
    """
    from stacktui.core.compose.aliases import may_hold_aliases

    for f in target.files:
        try:
            text = Path(f).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None  # SourceIndex.load says what is wrong with it
        if may_hold_aliases(text):
            return None
    return Once("compose-config", lambda: compose_config(target, cancel=cancel))


def effective_config(target: ComposeTarget, source: SourceIndex,
                     done_early: tuple[subprocess.CompletedProcess[str], dict[str, Any] | None] | None = None
                     ) -> dict[str, Any]:
    """`compose config --format json`; when Compose refuses, the refusal with the file and line.

    Compose names services but no lines ("service "a" depends on undefined
    service "b"", "dependency cycle detected: a -> b -> a"), and 2.40 even exits 0
    with nothing on stdout for these; the source trees say where it was written.
    """
    done, config = done_early if done_early is not None else compose_config(target)
    if done.returncode == 0 and done.stdout.strip():
        unset = sorted(set(_UNSET.findall(done.stderr)))
        if unset:
            raise unset_variables(unset, source)
        if config is None:
            raise ConfigError("compose config printed no configuration that can be read")
        return config
    stderr = done.stderr.strip() or done.stdout.strip() or "compose config failed"
    raise explain_compose_error(stderr, source)


# Compose reads some values it cannot write as JSON (build.ssh with a path, Compose 2.40:
# "json: error calling MarshalJSON for type types.SSHKey"); its YAML form carries them.
_NO_JSON = "error calling MarshalJSON"


def compose_config(target: ComposeTarget, args: Sequence[str] = (), input: str | None = None,
                   fmt: str = "json", cancel: proc.Cancel | None = None
                   ) -> tuple[subprocess.CompletedProcess[str], dict[str, Any] | None]:
    """Compose's effective config as a dict (None when it printed none), and how the call went."""
    done = composecli.run_config(target, args, input=input, fmt=fmt, cancel=cancel)
    if cancel is not None and cancel.cancelled:
        return done, None
    if fmt == "json" and _NO_JSON in done.stderr and not done.stdout.strip():
        done = composecli.run_config(target, args, input=input, fmt="yaml", cancel=cancel)
        fmt = "yaml"
    if done.returncode != 0 or not done.stdout.strip():
        return done, None
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        with deep_nesting():
            config = json.loads(done.stdout) if fmt == "json" else YAML(typ="safe").load(done.stdout)
    except (json.JSONDecodeError, YAMLError):
        return done, None
    return done, config if isinstance(config, dict) else None


_UNSET = re.compile(r'The \\?"(\w+)\\?" variable is not set')


def unset_variables(names: list[str], source: SourceIndex) -> ConfigError:
    """Compose only warns about a variable nobody set, and puts an empty string in its place (a
    blank port, image tag or URL). stacktui may recreate containers from that, so it refuses,
    naming where the first one is used."""
    first = names[0]
    where = None
    used = re.compile(r"(?<!\$)\$\{?" + re.escape(first) + r"\b")
    for sf in source.files:
        found = used.search(sf.text)
        if found:
            where = SourceRef(sf.path, sf.text.count("\n", 0, found.start()) + 1)
            break
    also = f" (also unset: {', '.join(names[1:])})" if names[1:] else ""
    return ConfigError(f"variable {first} is not set, and Compose would put an empty string in its place{also}",
                       where=where,
                       hint=f"set {first} in the project's .env or in the environment, or write ${{{first}:-}} "
                            "where empty is meant")


_BAD_PORT = re.compile(r"invalid (?:hostPort|containerPort|port|published port|target port)[^:]*: *\"?([\w.-]+)")


def _port_entry(value: str, source: Source) -> tuple[str, SourceRef] | None:
    """The service and line of the `ports:` entry where a port Compose refused was written."""
    number = re.compile(r"(?<![\w.])" + re.escape(value) + r"(?![\w.])")
    for sf in source.files:
        for name, node in sf.services().items():
            ports = node.get("ports") if isinstance(node, dict) else None
            for i, entry in enumerate(ports or []):
                if number.search(str(entry)):
                    where = source.locate(str(name), "ports", i)
                    if where is not None:
                        return str(name), where
    return None


def explain_compose_error(stderr: str, source: Source) -> ConfigError:
    """Compose's refusal, located in the source files when it is about the graph."""
    from stacktui.core.compose.source import shape_problem
    from stacktui.core.namespaces.graph import source_graph

    shape = shape_problem(source.files)
    if shape is not None:
        return shape
    graph = source_graph(source)
    message = composecli.compose_message(stderr)
    hint = "run `docker compose config` to see it in full"
    missing = re.search(r'service "([^"]+)" depends on undefined service "([^"]+)"', stderr)
    if missing:
        who, what = missing.groups()
        profiles = _profiles_of(what, source)
        for e in graph.needs(who):
            if e.target == what and profiles:
                # Compose drops a service whose profiles are all off, and then calls it undefined.
                named = ", ".join(profiles)
                return ConfigError(
                    f"service {who!r}: {e.key} names service {what!r}, which is switched off: its "
                    f"profile{'s' if len(profiles) > 1 else ''} {named} {'are' if len(profiles) > 1 else 'is'} "
                    "not enabled", where=e.where,
                    hint=f"enable it with --profile {profiles[0]} or COMPOSE_PROFILES={profiles[0]}, "
                         f"or give {who} the same profiles so that both are off together")
            if e.target == what:
                return ConfigError(f"service {who!r}: {e.key} names service {what!r}, which is not defined",
                                   where=e.where, hint=f"defined services: {', '.join(graph.services) or 'none'}")
    cycle = re.search(r"dependency cycle detected: (.+)", stderr)
    if cycle:
        names = [n.strip() for n in cycle.group(1).split("->")]
        hops = []
        for a, b in zip(names, names[1:]):
            hop = next((e for e in graph.needs(a) if e.target == b), None)
            if hop is None:
                break
            hops.append(hop)
        if hops and len(hops) == len(names) - 1:
            why = "; ".join(f"{e.describe()} ({e.where})" for e in hops)
            return ConfigError(f"dependency cycle {' -> '.join(names)}: {why}", where=hops[0].where,
                               hint="break the cycle: one of these services must not need the other")
    bad_port = _BAD_PORT.search(stderr)
    if bad_port:
        found = _port_entry(bad_port.group(1), source)
        if found is not None:
            service, where = found
            return ConfigError(f"service {service!r}: {bad_port.group(0)}", where=where,
                               hint="a port is a number from 1 to 65535: HOST:CONTAINER or IP:HOST:CONTAINER")
    try:
        graph.validate()  # Compose said something else; a graph problem in the files still has a line
    except ConfigError as exc:
        if exc.where is not None and ("undefined service" in stderr or "cycle" in stderr):
            return exc
    return ConfigError(message, where=_line_for(stderr, source), hint=hint)


def _line_for(stderr: str, source: Source) -> SourceRef | None:
    """Compose names a service or a path (services.app.ports), never a line: find it in the files."""
    both = re.search(r'service "?([\w.-]+)"? declares mutually exclusive `(\w+)` and `(\w+)`', stderr)
    if both and source.file_of(both.group(1)) is not None:
        return source.locate(both.group(1), both.group(3))  # the second key is the one too many
    path = re.search(r"services\.([\w-]+)((?:\.[\w-]+)*)", stderr)
    if path and source.file_of(path.group(1)) is not None:
        return source.locate(path.group(1), *[p for p in path.group(2).split(".") if p])
    named = re.search(r'service "([^"]+)"', stderr)
    if named and source.file_of(named.group(1)) is not None:
        return source.locate(named.group(1))
    return None


def _profiles_of(service: str, source: Source) -> list[str]:
    """The profiles a service is written with (the last file that sets them wins, as in Compose)."""
    found: list[str] = []
    for sf in source.files:
        node = sf.services().get(service)
        if isinstance(node, dict) and isinstance(node.get("profiles"), list):
            found = [str(p) for p in node["profiles"]]
    return found


def project_from_config(config: dict[str, Any], source: Source | None,
                        target: ComposeTarget,
                        args: Sequence[str] = (), input: str | None = None) -> Project:
    """The model from Compose's JSON config; `args`/`input` name the files as that call did."""
    raw_services = config.get("services") or {}
    extensions = _extensions(list(raw_services), source, target, args, input)
    services: dict[str, ServiceSpec] = {}
    for name in _declared_order(raw_services, source):
        services[name] = _service(name, raw_services[name], source, extensions.get(name, {}))
    first = target.files[0] if target.files else Path.cwd()
    working_dir = target.project_directory or first.parent
    return Project(
        name=str(config.get("name") or target.project_name or working_dir.name),
        working_dir=Path(working_dir),
        files=list(target.files),
        services=services,
        source=source,
    )


# `${VAR}` or `$VAR`, not `$$` (Compose's escaped dollar).
_VARIABLE = re.compile(r"(?<!\$)\$(?:\{[^}]*\}|[A-Za-z_]\w*)")


def _extensions(names: list[str], source: Source | None, target: ComposeTarget,
                args: Sequence[str], input: str | None) -> dict[str, dict[str, Any]]:
    """x-stacktui of each service, its variables expanded by Compose itself.

    Compose expands `${VAR}` in x- fields as everywhere else, but its JSON leaves a service's
    extensions out. Read as written they are exact unless they name a variable: then (rarely)
    Compose's YAML form, which carries them expanded, is asked for once.
    """
    if source is None:
        return {}
    written = {name: source.extension(name) for name in names}
    if not any(_VARIABLE.search(json.dumps(ext)) for ext in written.values()):
        return {name: _unescaped(ext) for name, ext in written.items()}
    done, data = compose_config(target, args, input, fmt="yaml")
    if data is None:
        raise explain_compose_error(done.stderr.strip() or "compose config failed", source)
    services = data.get("services") or {}
    expanded = {}
    for name in names:
        ext = (services.get(name) or {}).get("x-stacktui")
        expanded[name] = _unescaped(ext if isinstance(ext, dict) else written.get(name, {}))
    return expanded


def _unescaped(value: Any) -> Any:
    """`$$` is Compose's literal `$`; its YAML output keeps it escaped, as the file does."""
    if isinstance(value, str):
        return value.replace("$$", "$")
    if isinstance(value, list):
        return [_unescaped(v) for v in value]
    if isinstance(value, dict):
        return {k: _unescaped(v) for k, v in value.items()}
    return value


def _declared_order(raw_services: dict[str, Any], source: Source | None) -> list[str]:
    """Services in the order the files declare them (Compose's JSON sorts them by name)."""
    order = [n for n in source.service_order() if n in raw_services] if source else []
    return order + [n for n in raw_services if n not in order]


def _service(name: str, raw: dict[str, Any], source: Source | None,
             ext_raw: dict[str, Any]) -> ServiceSpec:
    where = source.locate(name) if source else None
    ports: list[PortSpec] = []
    for i, p in enumerate(raw.get("ports") or []):
        ports.append(PortSpec(
            target=int(p.get("target")),
            published=str(p["published"]) if p.get("published") not in (None, "") else None,
            host_ip=p.get("host_ip") or "",
            protocol=p.get("protocol") or "tcp",
            where=source.locate(name, "ports", i) if source else None,
        ))
    depends = {
        dep: DependsOn(dep, spec.get("condition", "service_started"), bool(spec.get("restart")),
                       bool(spec.get("required", True)))
        for dep, spec in (raw.get("depends_on") or {}).items()
    }
    return ServiceSpec(
        name=name,
        image=raw.get("image"),
        network_mode=raw.get("network_mode"),
        ipc=raw.get("ipc"),
        pid=raw.get("pid"),
        ports=ports,
        expose=[str(e) for e in raw.get("expose") or []],
        depends_on=depends,
        volumes_from=[str(v) for v in raw.get("volumes_from") or []],
        healthcheck=raw.get("healthcheck"),
        environment=dict(raw.get("environment") or {}),
        x=_extension(name, ext_raw, source),
        where=where,
        raw=raw,
    )


def _extension(service: str, raw: dict[str, Any], source: Source | None) -> Extension:
    where = source.locate(service, "x-stacktui") if source else None
    health = raw.get("health")
    if health is not None and not (isinstance(health, str) and health.startswith(("http://", "https://"))):
        raise ConfigError(f"x-stacktui.health of {service} must be an http(s) URL, got {health!r}", where=where)
    listens: list[int] = []
    for item in raw.get("listens") or []:
        try:
            port = int(item)
        except (TypeError, ValueError):
            port = -1
        if not 1 <= port <= 65535:
            raise ConfigError(f"x-stacktui.listens of {service}: {item!r} is not a port (1-65535)",
                              where=source.locate(service, "x-stacktui", "listens") if source else where)
        listens.append(port)
    return Extension(health=health, listens=tuple(listens), listens_said="listens" in raw)


def attach_project(engine: "Engine", name: str, *, env: dict[str, str] | None = None,
                   containers: list["ContainerInfo"] | None = None) -> tuple[Project, ComposeTarget | None]:
    """A project named by `-p` alone: from its compose files when they are readable here, else
    read-only from its container labels, saying why. The target is None when read-only.

    The files are the ones Compose recorded in the labels (config_files, working_dir, and
    environment_file when it was given); a file missing or unreadable, a config Compose refuses
    here, or services running that the files do not declare (a profile, an edit since) all leave
    it read-only: acting on files that do not describe what runs could recreate the wrong thing.
    """
    if containers is None:
        containers = engine.project_containers(name)
    if not containers:
        raise ConfigError(f"no containers of project {name!r} on this engine",
                          hint="list them with `stacktui projects`, or pass -f FILE")
    labels = containers[0].labels
    files = [Path(f) for f in labels.get(FILES_LABEL, "").split(",") if f]
    env_files = [Path(f) for f in labels.get(ENV_FILE_LABEL, "").split(",") if f]
    why = _unreadable(files + env_files)
    if why is None:
        target = ComposeTarget(files=tuple(files), project_name=name,
                               project_directory=Path(labels.get(WORKDIR_LABEL) or files[0].parent),
                               env_files=tuple(env_files), env=dict(env or {}))
        try:
            project = load_project(target)
        except ConfigError as exc:
            why = f"its compose files do not load here: {exc}"
        else:
            undeclared = sorted({c.service for c in containers} - set(project.services))
            if not undeclared:
                return project, target
            why = (f"services {', '.join(undeclared)} run but {', '.join(map(str, files))} do not declare them "
                   "(a profile, or the files changed since)")
    project = project_from_labels(engine, name, containers)
    project.read_only_reason = why
    return project, None


def _unreadable(paths: list[Path]) -> str | None:
    """Why these files cannot be used from here, or None when every one can be read."""
    if not paths:
        return "its labels name no compose file"
    for path in paths:
        try:
            with open(path, "rb"):
                pass
        except OSError as exc:
            return f"{path} (from its labels) is not readable here: {exc.strerror or exc}"
    return None


def project_from_labels(engine: "Engine", name: str, containers: list["ContainerInfo"], *,
                        details: bool = True) -> Project:
    """A read-only Project rebuilt from a project's container labels (no files needed).

    Compose's labels keep the service, `depends_on` (with its restart flag) and
    the files; the engine keeps each container's namespace modes and
    healthcheck. A `container:<id>` mode naming a container that is gone (its
    owner was recreated) is mapped back to the one service the label says it
    must restart with, so the stale check still sees whose namespace it was.
    `details=False` leaves out the healthcheck and restart policy (one more inspect each).
    """
    by_id = {c.id: c.service for c in containers}
    services: dict[str, ServiceSpec] = {}
    for c in containers:
        if c.service in services:
            continue
        depends: dict[str, DependsOn] = {}
        for item in filter(None, c.labels.get("com.docker.compose.depends_on", "").split(",")):
            dep, _, rest = item.partition(":")
            cond, _, restart = rest.partition(":")
            depends[dep] = DependsOn(dep, cond or "service_started", restart == "true")
        restarting_with = [d.service for d in depends.values() if d.restart]
        modes: dict[str, str | None] = {}
        for kind, mode in (("network_mode", c.network_mode), ("ipc", c.ipc_mode), ("pid", c.pid_mode)):
            joined = mode.split(":", 1)[1] if mode.startswith("container:") else None
            if joined and joined in by_id:
                modes[kind] = f"service:{by_id[joined]}"
            elif joined and len(restarting_with) == 1 and not _exists(engine, joined):
                modes[kind] = f"service:{restarting_with[0]}"
            else:
                modes[kind] = mode or None
        check, policy = None, "no"
        if details:
            raw = engine.inspect_raw(c.id)
            check = (raw.get("Config") or {}).get("Healthcheck") or None
            if check and (check.get("Test") or [""])[0] == "NONE":
                check = None
            policy = ((raw.get("HostConfig") or {}).get("RestartPolicy") or {}).get("Name") or "no"
        services[c.service] = ServiceSpec(
            name=c.service, image=c.image, network_mode=modes["network_mode"], ipc=modes["ipc"],
            pid=modes["pid"], depends_on=depends,
            healthcheck={"test": check.get("Test")} if check else None,
            raw={"restart": policy},
        )
    first = containers[0]
    files = [Path(f) for f in first.labels.get(FILES_LABEL, "").split(",") if f]
    ordered = _attached_order(services)
    return Project(name=name, working_dir=Path(first.labels.get(WORKDIR_LABEL, ".")),
                   files=files, services={s: services[s] for s in ordered}, read_only=True)


def _exists(engine: "Engine", container_id: str) -> bool:
    try:
        engine.inspect_raw(container_id)
        return True
    except Exception as exc:  # docker's NotFound, passed through the adapter: only a 404 means gone
        if getattr(exc, "status_code", None) == 404:
            return False
        raise


def _attached_order(services: dict[str, ServiceSpec]) -> list[str]:
    """No file says the declared order: dependencies first, then by name."""
    from stacktui.core.namespaces.graph import Graph, project_edges

    probe = Project(name="", working_dir=Path("."), files=[], services=services)
    graph = Graph(sorted(services), [e for e in project_edges(probe) if e.target in services])
    try:
        return graph.order(sorted(services))
    except ConfigError:
        return sorted(services)
