"""Kubernetes names and labels for compose services: DNS labels, stable, with the user when per user."""
from __future__ import annotations

import hashlib
import re

PROJECT_LABEL = "stacktui.io/project"
WORKLOAD_LABEL = "stacktui.io/workload"
USER_LABEL = "stacktui.io/user"
SERVICES_LABEL = "stacktui.io/services"
NAME_LABEL = "app.kubernetes.io/name"
PART_OF_LABEL = "app.kubernetes.io/part-of"
MANAGED_LABEL = "app.kubernetes.io/managed-by"

_BAD = re.compile(r"[^a-z0-9-]+")


def dns_label(name: str, limit: int = 63) -> str:
    """A DNS-1123 label from a compose name (`my_app.web` -> `my-app-web`); too long: cut, with a hash."""
    clean = _BAD.sub("-", name.lower()).strip("-") or "x"
    if len(clean) <= limit:
        return clean
    digest = hashlib.sha1(name.encode()).hexdigest()[:8]
    return f"{clean[:limit - 9].rstrip('-')}-{digest}"


def workload_name(service: str, user: str | None = None) -> str:
    """The Deployment and Service of a group: the owner's name, then the user (`vscode-alice`). A Service
    name must begin with a letter (DNS-1035): `1web` becomes `s-1web`."""
    if not service[:1].isalpha():
        service = f"s-{service}"
    base = dns_label(service, 63 if user is None else 62 - len(user))
    return base if user is None else f"{base}-{user}"
