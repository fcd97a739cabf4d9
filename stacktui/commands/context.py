"""What every command needs, loaded lazily: the project and the engine."""
from __future__ import annotations

import argparse
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from stacktui.core.compose.cli import ComposeTarget
from stacktui.core.compose.discovery import resolve_target
from stacktui.core.engine.client import Engine
from stacktui.core.engine.endpoint import Endpoint, resolve_all
from stacktui.core.compose.model import Project
from stacktui.core.errors import ConfigError
from stacktui.core.settings import Settings


@dataclass
class Context:
    files: list[str] = field(default_factory=list)
    project_name: str | None = None
    project_directory: str | None = None
    env_files: list[str] = field(default_factory=list)
    profiles: list[str] = field(default_factory=list)
    settings: Settings = field(default_factory=Settings)  # config.toml, read once by cli.main
    settings_problem: ConfigError | None = None  # the file was invalid; the TUI runs on defaults and says so
    contexts: list[str] = field(default_factory=list)  # --context, repeatable
    _endpoints: list[Endpoint] | None = None
    _target: ComposeTarget | None = None
    _project: Project | None = None
    _engine: Engine | None = None

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> "Context":
        return cls(files=list(args.file), project_name=args.project_name,
                   project_directory=args.project_directory, env_files=list(args.env_file),
                   profiles=list(args.profile), contexts=list(getattr(args, "context", None) or []))

    @property
    def target(self) -> ComposeTarget:
        if self._target is None:
            found = resolve_target(self.files, self.project_name, self.project_directory,
                                   self.env_files, self.profiles)
            # Compose must reach the engine stacktui resolved, whatever else the environment says.
            self._target = replace(found, env={**found.env, **self.endpoint.env()})
        return self._target

    @property
    def project(self) -> Project:
        if self._project is None:
            from stacktui.core.loader import load_project, attach_project

            if self.target.files:
                self._project = load_project(self.target)
            else:
                self._project, found = attach_project(self.engine, self.target.project_name or "",
                                                      env=self.target.env)
                if found is not None:
                    self._target = found  # Compose runs on the files the labels named from now on
        return self._project

    @property
    def endpoints(self) -> list[Endpoint]:
        """Every engine named (one per --context), else the one the docker CLI would pick."""
        if self._endpoints is None:
            self._endpoints = resolve_all(self.contexts)
        return self._endpoints

    @property
    def endpoint(self) -> Endpoint:
        """The engine a single-project command works on: the first one named."""
        return self.endpoints[0]

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = Engine.connect(self.endpoint)
        return self._engine

    def reload(self) -> Project:
        self._project = None
        return self.project

    def close(self) -> None:
        if self._engine is not None:
            self._engine.close()


def emit_json(data: Any) -> None:
    import json

    print(json.dumps(data, indent=2, default=str))


def relpath(path: Path | None) -> str | None:
    if path is None:
        return None
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
