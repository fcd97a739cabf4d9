"""A big compose file edited one service at a time: only the services a change touches go through ruamel.

A layout change edits two or three services, but a round trip of the whole file through
ruamel.yaml (read, write it out as it was, write it out changed) took 50 s on a 2,000-service,
5.8 MB file. When the file holds no YAML alias (so no service can lean on an anchor written
elsewhere) and its `services:` is a block whose entries start on lines of their own, each
service's lines are a document of their own once `services:` is put above them: that small
document is read, edited and written by ruamel exactly as the whole file would be, and its new
lines replace the old ones. Every other line of the file is left as it is.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap

from stacktui.core.compose.aliases import may_hold_aliases
from stacktui.core.compose.model import Project
from stacktui.core.compose.source import parse_text
from stacktui.core.layout import yamledit

_HEAD = "services:\n"


class ServiceSlices:
    """The services of one file as the editor's `services` map: each read by ruamel when first asked for."""

    def __init__(self, lines: list[str], spans: dict[str, tuple[int, int]], file: Path, yaml: YAML,
                 values: CommentedMap) -> None:
        self.values = values  # the services as the project read them (same values, no comments): to look, not edit
        self.lines = lines  # the file's lines, ends kept
        self.spans = spans  # service -> [first line, line after its last)
        self.file = file
        self.yaml = yaml
        self.read: dict[str, tuple[str, Any, str]] = {}  # service -> (its document, tree, ruamel's dump of it)

    @classmethod
    def of(cls, project: Project, file: Path, text: str, yaml: YAML) -> "ServiceSlices | None":
        """The slices of file's text, or None when the whole file must be edited at once."""
        if project.source is None or may_hold_aliases(text):
            return None
        docs = [sf for sf in project.source.files if sf.path == file]
        if len(docs) != 1 or docs[0].text.removeprefix("\ufeff") != text:
            return None  # several documents, or the file changed since the project was read
        tree = docs[0].tree
        services = tree.get("services") if isinstance(tree, CommentedMap) else None
        if not isinstance(services, CommentedMap) or not len(services):
            return None
        lines = text.splitlines(keepends=True)
        top = list(tree)
        after = top.index("services") + 1
        end = tree.lc.key(top[after])[0] if after < len(top) else len(lines)
        starts: list[tuple[int, str]] = []
        head_line = tree.lc.key("services")[0]
        for name in services:
            line, col = services.lc.key(name)
            if not isinstance(name, str) or col == 0 or line <= head_line or line >= end:
                return None
            starts.append((line, name))
        if starts != sorted(starts) or len({line for line, _ in starts}) != len(starts):
            return None
        spans = {name: (line, starts[i + 1][0] if i + 1 < len(starts) else end)
                 for i, (line, name) in enumerate(starts)}
        return cls(lines, spans, file, yaml, services)

    # -- the mapping the editor reads

    def get(self, name: Any, default: Any = None) -> Any:
        if name not in self.spans:
            return default
        if name not in self.read:
            start, stop = self.spans[name]
            doc = _HEAD + "".join(self.lines[start:stop])
            if not doc.endswith("\n"):
                doc += "\n"
            tree = parse_text(doc, self.file)
            self.read[name] = (doc, tree, yamledit.dump(self.yaml, tree))
        return self.read[name][1]["services"].get(name)

    def __getitem__(self, name: Any) -> Any:
        if name not in self.spans:
            raise KeyError(name)
        return self.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self.spans

    def __iter__(self) -> Iterator[str]:
        return iter(self.spans)

    def __len__(self) -> int:
        return len(self.spans)

    def keys(self) -> list[str]:
        return list(self.spans)

    def render(self, notes: list[str]) -> str:
        """The file with each edited service's lines replaced by ruamel's writing of them."""
        out = list(self.lines)
        restyled = False
        for name in sorted(self.read, key=lambda n: self.spans[n][0], reverse=True):
            doc, tree, base = self.read[name]
            edited = yamledit.dump(self.yaml, tree)
            if edited == base:
                continue
            text = yamledit.carry_over(doc, base, edited)
            if text is None:
                text, restyled = edited, True
            start, stop = self.spans[name]
            if not text.startswith(_HEAD):
                text = edited
            out[start:stop] = [text[len(_HEAD):]]
        if restyled:
            notes.append(f"{self.file.name} is not written the way ruamel.yaml writes YAML; "
                         "lines near the change were re-indented")
        return "".join(out)
