"""What `stacktui kube export` is asked for: users, version, exposure, the flags that allow more."""
from __future__ import annotations

import re
from dataclasses import dataclass

from stacktui.core.errors import ConfigError

# The newest Kubernetes whose schemas kubernetes-validate bundles (1.37.0); the tests hold it to that.
DEFAULT_K8S_VERSION = (1, 37)
OLDEST_K8S_VERSION = (1, 19)
# Native sidecars (init containers with restartPolicy: Always) are on by default from 1.29.
SIDECARS_FROM = (1, 29)
EXPOSE_CHOICES = ("none", "nodeport", "loadbalancer", "hostport")
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


@dataclass(frozen=True)
class ExportOptions:
    services: tuple[str, ...] = ()  # empty: every service
    users: tuple[str, ...] = ()  # empty: one copy of everything
    namespace: str | None = None
    k8s_version: tuple[int, int] = DEFAULT_K8S_VERSION
    strict: bool = False
    expose: str = "none"
    allow_privileged: bool = False
    allow_hostpath: bool = False

    @property
    def sidecars(self) -> bool:
        return self.k8s_version >= SIDECARS_FROM

    @property
    def version_text(self) -> str:
        return f"{self.k8s_version[0]}.{self.k8s_version[1]}"


def parse_version(text: str) -> tuple[int, int]:
    """`1.29`, `v1.29` or `1.29.3` as (1, 29)."""
    found = re.fullmatch(r"v?(\d+)\.(\d+)(?:\.\d+)?", text.strip())
    if not found:
        raise ConfigError(f"--k8s-version {text!r} is not a version", hint="write it as X.Y, e.g. 1.29")
    version = (int(found.group(1)), int(found.group(2)))
    if version < OLDEST_K8S_VERSION:
        raise ConfigError(f"--k8s-version {text} is older than stacktui writes for",
                          hint=f"use {OLDEST_K8S_VERSION[0]}.{OLDEST_K8S_VERSION[1]} or newer")
    return version


def parse_users(text: str | None) -> tuple[str, ...]:
    """`alice,bob` (each a DNS label) or a count `3` (user1, user2, user3)."""
    if text is None:
        return ()
    text = text.strip()
    if text.isdigit():
        count = int(text)
        if not 1 <= count <= 1000:
            raise ConfigError(f"--users {text}: give between 1 and 1000 users", hint="or name them: --users alice,bob")
        return tuple(f"user{i}" for i in range(1, count + 1))
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise ConfigError("--users names nobody", hint="--users alice,bob or --users 3")
    for name in names:
        if not _NAME.match(name) or len(name) > 30:
            raise ConfigError(f"--users: {name!r} cannot be part of a Kubernetes name",
                              hint="lower-case letters, digits and '-', at most 30 characters")
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise ConfigError(f"--users names {dup} twice")
    return tuple(names)


def check_namespace(name: str | None) -> str | None:
    if name is not None and (not _NAME.match(name) or len(name) > 63):
        raise ConfigError(f"--namespace {name!r} is not a Kubernetes namespace name",
                          hint="lower-case letters, digits and '-', at most 63 characters")
    return name


def check_expose(value: str) -> str:
    if value not in EXPOSE_CHOICES:
        raise ConfigError(f"--expose {value!r}", hint=f"one of {', '.join(EXPOSE_CHOICES)}")
    return value
