"""Which of a namespace owner's ports move with a service that leaves it.

What says whose a port is, best first: the processes listening in the running containers
(read as `check` reads them, core/ports/live.py), then `x-stacktui.listens` (an empty list:
listens on nothing), then the comment on the port's line (claims.py). A port is never moved to
services that are seen not listening on it, nor away from a service seen listening on it.
When nothing says for some service, PortsUnknown lists every published port with who listens.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Iterable, Union, cast

from stacktui.core.errors import ConfigError, PortChoice, PortsUnknown, StackError
from stacktui.core.layout.claims import commented_owners
from stacktui.core.compose.model import Project
from stacktui.core.namespaces.groups import exposed_targets, listens_of, published_targets

if TYPE_CHECKING:
    from stacktui.core.engine.client import Engine

EngineSource = Union["Engine", Callable[[], "Engine | None"], None]
LIVE, DECLARED, COMMENT = "listening now", "x-stacktui.listens", "the comment on its line"


def live_ports(project: Project, engine: EngineSource) -> dict[str, set[int]]:
    """Service -> the ports its processes listen on right now (an empty set: none), for each running
    member of a shared namespace whose sockets could be read. Empty without an engine or containers.

    engine may be a function that returns one (or None), called only now.
    """
    live = engine() if callable(engine) and not hasattr(engine, "project_containers") else cast("Engine | None", engine)
    if live is None:
        return {}
    from stacktui.core.ports import live as liveports  # /proc readers: only when asked

    try:
        return liveports.listening_ports(project, live, live.project_containers(project.name))
    except (StackError, OSError):
        return {}


def _offered(project: Project, root: str) -> set[int]:
    return published_targets(project, root) | exposed_targets(project, root)


def port_choices(project: Project, root: str, members: list[str], group: list[str],
                 live: dict[str, set[int]]) -> list[PortChoice]:
    """Every port root publishes, with who listens on it and how that is known; ticked when it is group's."""
    comments = commented_owners(project, root, members)
    out: list[PortChoice] = []
    for port in sorted(published_targets(project, root)):
        heard = [s for s in members if port in live.get(s, set())]
        how = LIVE
        if not heard:
            heard = [s for s in members if s not in live and port in project.services[s].x.listens]
            how = DECLARED
        if not heard and port in comments:
            heard, how = [comments[port]], COMMENT
        who = f"{', '.join(heard)} ({how})" if heard else "nobody known"
        out.append(PortChoice(port, who, bool(heard) and all(s in group for s in heard)))
    return out


def moving_ports(project: Project, service: str, group: list[str], root: str, old_group: list[str],
                 explicit: Iterable[int] | None, engine: EngineSource) -> set[int]:
    """The container ports that move from root to service (group: service and who joins it)."""
    offered = _offered(project, root)
    chosen = {int(p) for p in explicit} if explicit is not None else None
    heard = live_ports(project, engine) if offered and chosen != set() else {}
    live = {s: ports for s, ports in heard.items() if s in old_group}  # root's namespace only
    if chosen is not None:
        return _checked(project, service, group, root, old_group, chosen, live)
    known: dict[str, set[int]] = {}
    for s in group:
        if s in live:
            known[s] = live[s] & offered  # a process's own loopback or debug port is not published: it stays
        elif project.services[s].x.listens_said:
            known[s] = set(project.services[s].x.listens)
    missing = [s for s in group if s not in known]
    if not missing or not offered:
        # An owner that publishes nothing (a devcontainer joining `service:db`, a VPN sidecar): no port
        # can move, so there is nothing to ask.
        return {p for ports in known.values() for p in ports}
    raise _unknown(project, service, group, root, old_group, missing, known, live)


def _unknown(project: Project, service: str, group: list[str], root: str, old_group: list[str],
             missing: list[str], known: dict[str, set[int]], live: dict[str, set[int]]) -> PortsUnknown:
    others_live = {p for s, ports in live.items() if s not in group for p in ports}
    claimed = (listens_of(project, [s for s in old_group if s not in group and s not in live]) | others_live
               | {p for v in known.values() for p in v})
    by_comment = commented_owners(project, root, old_group)
    others = {p: s for p, s in by_comment.items() if s not in group}
    ours = sorted(p for p, s in by_comment.items() if s in group and p not in claimed)
    candidates = sorted(published_targets(project, root) - claimed - set(others))
    who = " and ".join(missing)
    if ours:
        # Suggest only what a comment attributes; name the rest, never another service's port.
        unsure = [p for p in candidates if p not in ours]
        published = (f"; {root} publishes {', '.join(map(str, ours))} for {who} (by the comment on "
                     f"{'its line' if len(ours) == 1 else 'their lines'})")
        published += f"; nothing says whose {', '.join(map(str, unsure))} {'is' if len(unsure) == 1 else 'are'}" \
            if unsure else ""
        candidates = ours
    else:
        published = f"; {root} publishes {', '.join(map(str, candidates))} that no other service claims" \
            if candidates else ""
    if others:
        published += "; " + ", ".join(f"{p} is {s}'s" for p, s in sorted(others.items()))
    heard = {p: s for s, ports in live.items() for p in ports if s not in group}
    if heard:
        published += "; " + ", ".join(f"{s} listens on {p}" for p, s in sorted(heard.items()))
    example = ",".join(map(str, candidates)) or "PORT,PORT"
    return PortsUnknown(
        f"cannot tell which ports {who} listen{'s' if len(missing) == 1 else ''} on{published}",
        service=missing[0], candidates=candidates, where=project.services[missing[0]].where,
        hint=f"add `x-stacktui: {{listens: [...]}}` to {missing[0]}, or pass --ports {example}"
             + (f" (all ports that move with {service})" if len(group) > 1 else ""),
        choices=port_choices(project, root, old_group, group, live),
    )


def _checked(project: Project, service: str, group: list[str], root: str, old_group: list[str],
             chosen: set[int], live: dict[str, set[int]]) -> set[int]:
    """The ports the user named, unless something says one of them is not the group's to take."""
    bad = sorted(p for p in chosen if not 1 <= p <= 65535)
    if bad:
        raise ConfigError(f"not a port (1-65535): {', '.join(map(str, bad))}")
    # A port the moving services declare (x-stacktui.listens) is theirs to name even when another member
    # holds it now: that clash in one namespace is what separating them ends.
    declared = listens_of(project, group)
    for port in sorted(chosen - declared):
        holders = [s for s, ports in live.items() if port in ports and s not in group]
        if holders and not any(port in live.get(s, set()) for s in group):
            raise ConfigError(f"port {port} is {holders[0]}'s: its processes listen on it now, in {root}'s network "
                              f"namespace; it cannot move with {service}", where=port_line(project, root, port),
                              hint="leave it out of --ports")
    if chosen and all(s in live for s in group):
        silent = sorted(p for p in chosen - declared if not any(p in live[s] for s in group))
        if silent:
            names = ", ".join(group)
            raise ConfigError(f"nothing in {names} listens on {', '.join(map(str, silent))} now: moved there, "
                              "the port would answer nobody", where=port_line(project, root, silent[0]),
                              hint=f"leave it out of --ports (what listens in {root}'s namespace now: "
                                   + (", ".join(f"{s} on {', '.join(map(str, sorted(p)))}"
                                                for s, p in sorted(live.items()) if p) or "nothing") + ")")
    theirs_by_comment = {port: who for port, who in commented_owners(project, root, old_group).items()
                         if port in chosen and who not in group and not any(port in live.get(s, set()) for s in group)}
    if theirs_by_comment:
        port, who = min(theirs_by_comment.items())
        raise ConfigError(f"port {port} is {who}'s (the comment on its line in {root}'s ports says so), "
                          f"it cannot move with {service}", where=port_line(project, root, port),
                          hint=f"leave it out of --ports, or correct the comment if it is {service}'s")
    offered = _offered(project, root)
    stray = sorted(chosen - offered - listens_of(project, group))
    if stray:
        # Nothing would move for it, and "ports N" in the summary would say otherwise.
        theirs = ", ".join(map(str, sorted(offered))) or "none"
        raise ConfigError(f"{root} does not publish port {', '.join(map(str, stray))} (it publishes: {theirs})",
                          where=project.services[root].where,
                          hint=f"name only ports that {root} publishes, or --ports none if no port moves")
    return chosen


def port_line(project: Project, root: str, port: int) -> Any:
    for i, spec in enumerate(project.services[root].ports):
        if spec.target == port:
            return project.source.locate(root, "ports", i) if project.source else None
    return project.services[root].where
