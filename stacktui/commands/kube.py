"""`stacktui kube export [SERVICE...] [-o DIR|-o -]`: the project as Kubernetes objects, each namespace
group one Pod. Notes on what could not be carried over go to stderr, one line each with file:line;
`--strict` makes each an error (exit 2, nothing written)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from stacktui.commands.context import Context, relpath
from stacktui.core.errors import ConfigError
from stacktui.core.kube.options import (DEFAULT_K8S_VERSION, EXPOSE_CHOICES, ExportOptions, check_expose,
                                        check_namespace, parse_users, parse_version)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("kube", help="the project as Kubernetes objects (each namespace group one Pod)",
                       description=__doc__.splitlines()[0] if __doc__ else None)
    ksub = p.add_subparsers(dest="kube_command", metavar="ACTION", required=True, parser_class=type(p))
    e = ksub.add_parser("export", help="write Deployments, Services, claims: a YAML stream or a file per object",
                        description=(__doc__ or "").replace("\n", " "))
    add_export_options(e)
    e.set_defaults(run=run_export)


def add_export_options(e: argparse.ArgumentParser) -> None:
    default = f"{DEFAULT_K8S_VERSION[0]}.{DEFAULT_K8S_VERSION[1]}"
    e.add_argument("services", nargs="*", metavar="SERVICE", help="only these services (each with its whole group)")
    e.add_argument("-o", "--output", default="-", metavar="DIR|-",
                   help="a folder to write one file per object in (replaced whole), or - for one stream (default)")
    e.add_argument("--users", metavar="NAMES|N", help="each namespace group once per user: alice,bob or a count")
    e.add_argument("--namespace", metavar="NS", help="put every object in this Kubernetes namespace (and create it)")
    e.add_argument("--k8s-version", default=default, metavar="X.Y",
                   help=f"the cluster's version: native sidecars from 1.29 (default {default})")
    e.add_argument("--strict", action="store_true", help="anything not carried over is an error (exit 2)")
    e.add_argument("--expose", default="none", choices=EXPOSE_CHOICES,
                   help="Service type for ports Compose publishes on the host (default none: inside the cluster)")
    e.add_argument("--allow-privileged", action="store_true",
                   help="carry cap_add, cap_drop, privileged, pid/ipc: host into the Pod")
    e.add_argument("--allow-hostpath", action="store_true", help="bind mounts as hostPath volumes")


def options_from(args: argparse.Namespace) -> ExportOptions:
    return ExportOptions(services=tuple(args.services), users=parse_users(args.users),
                         namespace=check_namespace(args.namespace), k8s_version=parse_version(args.k8s_version),
                         strict=args.strict, expose=check_expose(args.expose),
                         allow_privileged=args.allow_privileged, allow_hostpath=args.allow_hostpath)


def _path(path: Path) -> str:
    return relpath(path) or str(path)


def run_export(ctx: Context, args: argparse.Namespace) -> int:
    from stacktui.core.kube.notes import ExportRefused
    from stacktui.core.ops import kube

    options = options_from(args)
    project = ctx.project
    if project.read_only:
        raise ConfigError(f"project {project.name} was attached from its containers: there is no compose "
                          "configuration to export", hint="pass -f FILE or run it in the project's folder")
    try:
        result = kube.export(project, options)
    except ExportRefused as exc:
        for note in exc.notes:
            print(f"stacktui: {note.text(_path)}", file=sys.stderr)
        print(f"stacktui: nothing written: {len(exc.notes)} thing{'s' if len(exc.notes) != 1 else ''} "
              f"cannot be carried over{' (--strict)' if options.strict else ''}", file=sys.stderr)
        return exc.exit_code
    for note in result.notes:
        print(f"note: {note.text(_path)}", file=sys.stderr)
    if args.output == "-":
        sys.stdout.write(kube.as_stream(result))
        return 0
    written = kube.write(result, Path(args.output))
    for line in result.said:
        print(line, file=sys.stderr)
    print(f"{len(written)} objects written to {_path(Path(args.output).resolve())}", file=sys.stderr)
    return 0
