"""A project's source files as loading it asked them, kept beside Compose's cached config.

Loading a project asks stacktui's own read of the files (compose.source, ruamel.yaml) a fixed
set of questions: the order the services are declared in, where each service, port, x-stacktui
and namespace key was written, each service's x-stacktui as written. The answers depend on the
files' bytes alone, which the cache key holds, so on a cache hit they are replayed and the
files are neither parsed nor is ruamel.yaml imported on the way to the TUI's first frame.
Any other question (a check's finding, an edit, a question loading did not ask) reads the
files then, once, as a cache miss does.
"""
from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from stacktui.core.errors import SourceRef

if TYPE_CHECKING:
    from stacktui.core.compose.source import SourceFile, SourceIndex

_UNKNOWN = object()


def _question(kind: str, service: Any, path: Sequence[Any] = ()) -> str:
    return json.dumps([kind, service, list(path)])


class RecordingSource:
    """A loaded SourceIndex that writes down every answer it gives (a miss: what a hit replays)."""

    def __init__(self, index: "SourceIndex") -> None:
        self.index = index
        self.answers: dict[str, Any] = {}

    @property
    def files(self) -> list["SourceFile"]:
        return self.index.files

    def locate(self, service: str, *path: Any) -> SourceRef | None:
        found = self.index.locate(service, *path)
        self.answers[_question("locate", service, path)] = None if found is None else [str(found.file), found.line]
        return found

    def extension(self, service: str, key: str = "x-stacktui") -> dict[str, Any]:
        found = self.index.extension(service, key)
        self.answers[_question("extension", service, [key])] = found
        return found

    def service_order(self) -> list[Any]:
        found = self.index.service_order()
        self.answers[_question("order", None)] = found
        return found

    def file_of(self, service: str) -> "SourceFile | None":
        return self.index.file_of(service)


class KnownSource:
    """The source index of a cache hit: recorded answers first; anything else reads the files."""

    def __init__(self, paths: Sequence[Path], answers: dict[str, Any]) -> None:
        self._paths = list(paths)
        self._answers = answers
        self._index: "SourceIndex | None" = None
        self._lock = threading.Lock()  # the UI thread and a worker may both ask first

    def loaded(self) -> "SourceIndex":
        with self._lock:
            if self._index is None:
                from stacktui.core.compose.source import SourceIndex

                self._index = SourceIndex.load(self._paths)
            return self._index

    @property
    def files(self) -> list["SourceFile"]:
        return self.loaded().files

    def _recorded(self, question: str) -> Any:
        return self._answers.get(question, _UNKNOWN)

    def locate(self, service: str, *path: Any) -> SourceRef | None:
        found = self._recorded(_question("locate", service, path))
        if found is _UNKNOWN:
            return self.loaded().locate(service, *path)
        return None if found is None else SourceRef(Path(found[0]), int(found[1]))

    def extension(self, service: str, key: str = "x-stacktui") -> dict[str, Any]:
        found = self._recorded(_question("extension", service, [key]))
        return self.loaded().extension(service, key) if found is _UNKNOWN else dict(found)

    def service_order(self) -> list[Any]:
        found = self._recorded(_question("order", None))
        return self.loaded().service_order() if found is _UNKNOWN else list(found)

    def file_of(self, service: str) -> "SourceFile | None":
        return self.loaded().file_of(service)
