"""The compose files as written: ruamel.yaml round-trip trees, for line numbers and edits."""
from __future__ import annotations

import functools
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.composer import ComposerError, MaxDepthExceededError
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.parser import Parser
from ruamel.yaml.reader import ReaderError
from ruamel.yaml.scanner import Scanner

from stacktui.core.compose import blockyaml
from stacktui.core.compose.aliases import composer_for
from stacktui.core.compose.nesting import NESTING_LIMIT, deep_nesting
from stacktui.core.errors import ConfigError, SourceRef


def round_trip_yaml(text: str | None = None) -> YAML:
    """One configuration for every load and dump, so a round trip changes nothing.

    Given the file's text, the indentation is the file's own (see detect_indent);
    without it, Compose's usual style: mappings by 2, sequence dashes indented by 2.
    """
    mapping, sequence, offset = detect_indent(text) if text else (2, 4, 2)
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap long lines
    yaml.indent(mapping=mapping, sequence=sequence, offset=offset)
    return yaml


_KEY_LINE = re.compile(r"^( *)[^\s#-][^#]*?:\s*(#.*)?$")
_SEQ_LINE = re.compile(r"^( *)- ")
_ANY_KEY = re.compile(r"^( *)[^\s#-][^:#]*:(\s|$)")


def detect_indent(text: str) -> tuple[int, int, int]:
    """(mapping, sequence, offset) as ruamel.yaml's indent() takes them, read from the text.

    A block key line is compared with the next significant line: a nested key gives the
    mapping indent, a dash the sequence offset. The most common value wins; ties and
    files without evidence keep the defaults (2, 4, 2).
    """
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    maps: Counter[int] = Counter()
    offsets: Counter[int] = Counter()
    for here, nxt in zip(lines, lines[1:]):
        head = _KEY_LINE.match(here)
        if not head:
            continue
        base = len(head.group(1))
        dash = _SEQ_LINE.match(nxt)
        if dash and len(dash.group(1)) >= base:
            offsets[len(dash.group(1)) - base] += 1
            continue
        key = _ANY_KEY.match(nxt)
        if key and len(key.group(1)) > base:
            maps[len(key.group(1)) - base] += 1
    mapping = maps.most_common(1)[0][0] if maps else 2
    offset = offsets.most_common(1)[0][0] if offsets else 2
    return mapping, offset + 2, offset


def parse_text(text: str, file: Path) -> Any:
    """The one document of a compose file, as a round-trip tree (what an edit works on)."""
    return _parse(text, file, every=False)


def parse_documents(text: str, file: Path) -> list[Any]:
    """Every document of a compose file: Compose merges them, later over earlier, like -f files.

    Read for lines and values, not for an edit: plain block YAML (most compose files) is read by
    blockyaml in a fraction of ruamel's time (10 s of CPU on a 5.8 MB file); anything else by
    ruamel without the comments. An edit reads the file with parse_text.
    """
    return list(_read_documents(text, file))


# A command reads the same text more than once (an undo: the file as loaded, then to compare
# with the text it brings back, which the apply reads again); the trees read are never edited.
@functools.lru_cache(maxsize=2)
def _read_documents(text: str, file: Path) -> tuple[Any, ...]:
    fast = blockyaml.read(text, NESTING_LIMIT)
    if fast is not None:
        return (fast,)
    return tuple(_parse(text, file, every=True, comments=False))


def _parse(text: str, file: Path, every: bool, comments: bool = True) -> Any:
    try:
        yaml = round_trip_yaml(text)
        if not comments:
            yaml.Scanner, yaml.Parser = Scanner, Parser
        yaml.Composer = composer_for(file)  # refuses an alias bomb while composing, before anything expands it
        yaml.max_depth = NESTING_LIMIT
        with deep_nesting():
            return list(yaml.load_all(text)) if every else yaml.load(text)
    except MaxDepthExceededError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark is not None else 1
        raise ConfigError(f"nested deeper than {NESTING_LIMIT:,} levels, stacktui's limit",
                          where=SourceRef(file, line), hint="Compose may read it; stacktui will not") from exc
    except ComposerError as exc:
        if exc.problem != "but found another document" or exc.problem_mark is None:
            raise _invalid(exc, file) from exc
        raise ConfigError(f"{file.name} holds more than one YAML document: stacktui reads it but does not edit it",
                          where=SourceRef(file, exc.problem_mark.line + 1),
                          hint="merge the documents into one, then try again") from exc
    except MarkedYAMLError as exc:
        raise _invalid(exc, file) from exc
    except ReaderError as exc:  # a character YAML forbids (NUL, other controls): ruamel gives an offset only
        line = text.count("\n", 0, max(0, int(exc.position))) + 1
        char = exc.character if isinstance(exc.character, int) else ord(str(exc.character)[:1] or "?")
        raise ConfigError(f"invalid YAML: character U+{char:04X} is not allowed in YAML",
                          where=SourceRef(file, line),
                          hint="remove it, or write it as an escape in double quotes") from exc
    except YAMLError as exc:
        raise ConfigError(f"invalid YAML: {exc}", where=SourceRef(file, 1)) from exc


def _invalid(exc: MarkedYAMLError, file: Path) -> ConfigError:
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark is not None else 1
    problem = exc.problem or exc.context or "invalid YAML"
    return ConfigError(f"invalid YAML: {problem}", where=SourceRef(file, line))


@dataclass
class SourceFile:
    path: Path
    text: str
    tree: Any

    @classmethod
    def read(cls, path: Path) -> "SourceFile":
        text = cls._text(path)
        return cls(path, text, parse_text(text, path))

    @classmethod
    def read_documents(cls, path: Path) -> list["SourceFile"]:
        """One SourceFile per YAML document of the file (most files have one)."""
        text = cls._text(path)
        return [cls(path, text, tree) for tree in parse_documents(text, path)] or [cls(path, text, None)]

    @staticmethod
    def _text(path: Path) -> str:
        try:
            return path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read {path}: {exc.strerror}") from exc
        except UnicodeDecodeError as exc:
            raise not_utf8(path, exc) from exc

    def services(self) -> CommentedMap:
        if isinstance(self.tree, CommentedMap) and isinstance(self.tree.get("services"), CommentedMap):
            return self.tree["services"]
        return CommentedMap()


def _line_of(node: Any, key: Any) -> int | None:
    """0-based line of a key in a map, or of an item in a sequence."""
    try:
        if isinstance(node, CommentedMap):
            return node.lc.key(key)[0]
        if isinstance(node, CommentedSeq):
            return node.lc.item(key)[0]
    except (KeyError, IndexError, TypeError, AttributeError):
        return None
    return None


def not_utf8(path: Path, exc: UnicodeDecodeError) -> ConfigError:
    """The line of the first byte that is not UTF-8: Compose reads UTF-8 only, and so do we."""
    data = exc.object if isinstance(exc.object, bytes) else b""
    line = data[:exc.start].count(b"\n") + 1
    return ConfigError(f"not UTF-8 text: byte 0x{data[exc.start]:02X} cannot be read as UTF-8" if data else
                       "not UTF-8 text", where=SourceRef(path, line),
                       hint="save it as UTF-8, e.g. with `iconv -f latin1 -t utf-8`")


def shape_problem(files: list["SourceFile"]) -> ConfigError | None:
    """A file Compose cannot read as a project at all: not a mapping, or `services` not one. Compose
    says so without a file or a line ("services must be a mapping"); this names both."""
    for sf in files:
        if sf.tree is None:
            continue
        if not isinstance(sf.tree, CommentedMap):
            kind = "a list" if isinstance(sf.tree, CommentedSeq) else "a single value"
            return ConfigError(f"the top level is {kind}, not a mapping", where=SourceRef(sf.path, 1),
                               hint="a compose file is a mapping of keys such as `services:`")
        if "services" in sf.tree and not isinstance(sf.tree["services"], CommentedMap):
            value = sf.tree["services"]
            kind = "empty" if value is None else "a list" if isinstance(value, CommentedSeq) else "a single value"
            line = _line_of(sf.tree, "services")
            return ConfigError(f"services is {kind}, not a mapping of service names to their settings",
                               where=SourceRef(sf.path, (line or 0) + 1),
                               hint="write each service as `name:` with its settings indented below it")
    return None


class SourceIndex:
    """All files of a project; later files override earlier ones, as in Compose."""

    def __init__(self, files: list[SourceFile]) -> None:
        self.files = files

    @classmethod
    def load(cls, paths: list[Path]) -> "SourceIndex":
        return cls([doc for p in paths for doc in SourceFile.read_documents(p)])

    def _service_nodes(self, service: str) -> Iterator[tuple[SourceFile, CommentedMap]]:
        for sf in reversed(self.files):
            node = sf.services().get(service)
            if isinstance(node, CommentedMap):
                yield sf, node

    def locate(self, service: str, *path: Any) -> SourceRef | None:
        """Where `services.<service>.<path...>` was written; the deepest part that exists."""
        for sf, node in self._service_nodes(service):
            best = _line_of(sf.services(), service)
            cur: Any = node
            for part in path:
                line = _line_of(cur, part)
                if line is None:
                    break
                best = line
                try:
                    cur = cur[part]
                except (KeyError, IndexError, TypeError):
                    break
            if best is not None and (not path or _line_of(node, path[0]) is not None):
                return SourceRef(sf.path, best + 1)
        # The key is not written anywhere: point at the service itself.
        for sf, _node in self._service_nodes(service):
            line = _line_of(sf.services(), service)
            if line is not None:
                return SourceRef(sf.path, line + 1)
        return None

    def service_order(self) -> list[Any]:
        """Every service name in the order the files declare them (earlier files first)."""
        return list(dict.fromkeys(n for sf in self.files for n in sf.services()))

    def extension(self, service: str, key: str = "x-stacktui") -> dict[str, Any]:
        """x-stacktui of a service: Compose's `config` drops service extensions, so read them here."""
        merged: dict[str, Any] = {}
        for sf in self.files:  # earlier first, later override
            node = sf.services().get(service)
            if isinstance(node, CommentedMap) and isinstance(node.get(key), dict):
                merged.update(plain(node[key]))
        return merged

    def file_of(self, service: str) -> SourceFile | None:
        """The last file that defines the service (where edits to it go)."""
        for sf, _node in self._service_nodes(service):
            return sf
        return None


def plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value
