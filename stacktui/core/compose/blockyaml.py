"""A fast reader for the plain block YAML most compose files are written in: values and lines.

ruamel.yaml's round-trip parse is pure Python and costs about 10 s of CPU on a 2,000-service,
5.8 MB file, four times what Compose's own `config` takes. Reading a file (check, status, the
TUI's model) needs only the values and where each key and item starts, so this reader builds
the same trees ruamel does (CommentedMap and CommentedSeq with `lc.key` and `lc.item`) for the
subset it is sure of, line by line, in a fraction of that time. Anything outside the subset
(anchors and aliases, tags, block scalars, multi-line scalars or flow collections, several
documents, tabs, odd characters, duplicate keys, values a plain reader could type wrongly)
makes it answer None, and the caller reads the file with ruamel as before: so ruamel's errors,
and the alias budget, still see every file this reader does not fully understand.
Edits always go through ruamel (layout.edit), which keeps comments.
"""
from __future__ import annotations

import re
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.compat import ordereddict
from ruamel.yaml.resolver import implicit_resolvers


class _Unsure(Exception):
    """Outside the subset: ruamel reads this file."""


# Characters ruamel refuses or treats as line breaks, and tabs (YAML forbids them in indentation;
# elsewhere ruamel's handling is subtle): any of them and ruamel reads the file.
_ODD = re.compile("[\x00-\x08\t\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufeff\ufffe\uffff]")
_INT = re.compile(r"[-+]?(?:0|[1-9][0-9]*)")
_FLOAT = re.compile(r"[-+]?(?:0|[1-9][0-9]*)\.[0-9]+")
_PLAIN_START_BAD = set("&*!|>%@`,]}#")
_ESCAPES = {"0": "\0", "a": "\a", "b": "\b", "t": "\t", "\t": "\t", "n": "\n", "v": "\v", "f": "\f", "r": "\r",
            "e": "\x1b", " ": " ", '"': '"', "/": "/", "\\": "\\", "N": "\x85", "_": "\xa0", "L": "\u2028",
            "P": "\u2029"}
_HEX = {"x": 2, "u": 4, "U": 8}
MAX_FLOW_DEPTH = 50


def read(text: str, max_depth: int = 5_000) -> Any:
    """The one document of text as ruamel's round-trip trees would hold it, or None when unsure."""
    try:
        return _Reader(text, max_depth).document()
    except (_Unsure, RecursionError, ValueError, IndexError):
        return None


def _append(seq: CommentedSeq, value: Any) -> None:
    list.append(seq, value)  # CommentedSeq.append moves comments along: there are none here, and it costs


def _set(mapping: CommentedMap, key: Any, value: Any) -> None:
    ordereddict.__setitem__(mapping, key, value)  # as CommentedMap.__setitem__ does for a new key, less its checks
    mapping._ok.add(key)


def _plain(value: str) -> Any:
    """A plain scalar typed as ruamel's YAML 1.2 resolver types it, for the forms it is sure of."""
    known = _TYPED.get(value, _NOT_TYPED)
    if known is not _NOT_TYPED:
        return known
    if not value or value[0] not in _TYPED_STARTS:
        return value
    tag = next((tag for regexp, tag in _TYPED_STARTS[value[0]] if regexp.match(value)), None)
    if tag is None:
        return value
    if tag.endswith(":int") and _INT.fullmatch(value):
        return int(value)
    if tag.endswith(":float") and _FLOAT.fullmatch(value):
        return float(value)
    raise _Unsure  # octal, hex, 1e3, 1_000, .inf, timestamps, <<, =: ruamel's own types


_NOT_TYPED = object()
_TYPED: dict[str, Any] = {**dict.fromkeys(("true", "True", "TRUE"), True),
                          **dict.fromkeys(("false", "False", "FALSE"), False),
                          **dict.fromkeys(("~", "null", "Null", "NULL", ""), None)}
# ruamel's own table of implicit types, for YAML 1.2 (its default), by first character.
_TYPED_STARTS: dict[str, list[tuple[Any, str]]] = {}
for _versions, _tag, _regexp, _starts in implicit_resolvers:
    if (1, 2) in _versions:
        for _ch in _starts:
            _TYPED_STARTS.setdefault(_ch, []).append((_regexp, str(_tag)))


def _double(body: str) -> str:
    if "\\" not in body:
        return body
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        code = body[i + 1]
        if code in _ESCAPES:
            out.append(_ESCAPES[code])
            i += 2
        elif code in _HEX:
            digits = body[i + 2:i + 2 + _HEX[code]]
            if len(digits) != _HEX[code]:
                raise _Unsure
            out.append(chr(int(digits, 16)))
            i += 2 + _HEX[code]
        else:
            raise _Unsure
    return "".join(out)


def _quoted_end(s: str, start: int) -> int:
    """Index just past the closing quote of the quoted scalar opening at s[start]."""
    quote = s[start]
    i = start + 1
    while True:
        j = s.find(quote, i)
        if j < 0:
            raise _Unsure  # runs onto the next line
        if quote == "'":
            if s[j + 1:j + 2] == "'":
                i = j + 2
                continue
            return j + 1
        backslashes = 0
        k = j - 1
        while k > start and s[k] == "\\":
            backslashes += 1
            k -= 1
        if backslashes % 2 == 0:
            return j + 1
        i = j + 1


def _quoted_value(s: str, start: int, end: int) -> str:
    body = s[start + 1:end - 1]
    return body.replace("''", "'") if s[start] == "'" else _double(body)


def _rest_is_comment(s: str, pos: int) -> bool:
    rest = s[pos:]
    stripped = rest.lstrip(" ")
    return not stripped or (stripped[0] == "#" and len(stripped) < len(rest))


class _Reader:
    def __init__(self, text: str, max_depth: int) -> None:
        if _ODD.search(text, 1) or (text[:1] and _ODD.match(text) and text[0] != "\ufeff"):
            raise _Unsure
        if "\r" in text:
            if "\r" in text.replace("\r\n", ""):
                raise _Unsure
            text = text.replace("\r\n", "\n")
        self.lines = text.removeprefix("\ufeff").split("\n")
        self.max_depth = max_depth

    # --- block structure -----------------------------------------------------------------------

    def document(self) -> Any:
        root: CommentedMap | None = None
        # Each frame: [indent, node, is_seq]; pending: a key or dash whose value is on later lines.
        stack: list[list[Any]] = []
        pending: tuple[Any, Any, int, bool] | None = None  # (container, key, indent, after a key)
        scalar_indent = -1  # a line deeper than this after an inline value would continue it
        started = False
        for row, line in enumerate(self.lines):
            s = line.lstrip(" ")
            if not s or s[0] == "#":
                continue
            ind = len(line) - len(s)
            if ind == 0 and (s.startswith(("---", "...")) and (len(s) == 3 or s[3] in " #")):
                if started or s[0] == "." or not _rest_is_comment(s, 3):
                    raise _Unsure  # a second document, or content after the marker
                continue
            if s[0] == "%":
                raise _Unsure
            started = True
            if root is None:
                if ind != 0:
                    raise _Unsure
                root = CommentedMap()
                stack.append([0, root, False])
            elif pending is not None:
                container, key, p_ind, from_key = pending
                pending = None
                dash = s[0] == "-" and (len(s) == 1 or s[1] == " ")
                if dash and (ind > p_ind or (from_key and ind == p_ind)):
                    node: Any = CommentedSeq()
                    stack.append([ind, node, True])
                elif ind > p_ind and not dash:
                    node = CommentedMap()
                    stack.append([ind, node, False])
                else:
                    node = None
                if isinstance(container, CommentedSeq):
                    if node is None:
                        raise _Unsure  # a dash with nothing after it: ruamel's marks for it are its own
                    container.lc.add_kv_line_col(len(container), [row, ind])
                self._put(container, key, node)
                if len(stack) > self.max_depth:
                    raise _Unsure
            elif ind > scalar_indent >= 0:
                raise _Unsure  # a plain scalar continued on the next line, or a bad indentation
            # Close the blocks this line is not part of.
            while stack and (ind < stack[-1][0] or (ind == stack[-1][0] and stack[-1][2]
                                                    and not (s[0] == "-" and (len(s) == 1 or s[1] == " ")))):
                stack.pop()
            if not stack or stack[-1][0] != ind:
                raise _Unsure
            frame = stack[-1]
            if frame[2]:
                pending, scalar_indent = self._item(frame[1], s, row, ind, stack)
            else:
                pending, scalar_indent = self._entry(frame[1], s, row, ind)
        if pending is not None:
            if isinstance(pending[0], CommentedSeq):
                raise _Unsure
            self._put(pending[0], pending[1], None)
        if root is None:
            raise _Unsure
        return root

    def _put(self, container: Any, key: Any, value: Any) -> None:
        if isinstance(container, CommentedSeq):
            _append(container, value)
        else:
            _set(container, key, value)

    def _item(self, seq: CommentedSeq, s: str, row: int, ind: int,
              stack: list[list[Any]]) -> tuple[Any, int]:
        if not (s[0] == "-" and (len(s) == 1 or s[1] == " ")):
            raise _Unsure
        rest = s[1:]
        col = ind + 1 + (len(rest) - len(rest.lstrip(" ")))
        rest = rest.lstrip(" ")
        if not rest or rest[0] == "#":
            return (seq, None, ind, False), -1  # the item is the block below; its line is its first
        if rest[0] == "-" and (len(rest) == 1 or rest[1] == " "):
            raise _Unsure  # a sequence inside a sequence on one line
        key_end = self._key_end(rest)
        if key_end is not None:
            node = CommentedMap()
            seq.lc.add_kv_line_col(len(seq), [row, col])
            _append(seq, node)
            stack.append([col, node, False])
            if len(stack) > self.max_depth:
                raise _Unsure
            return self._entry(node, rest, row, col)
        seq.lc.add_kv_line_col(len(seq), [row, col])
        _append(seq, self._value(rest, row, col))
        return None, ind

    def _key_end(self, s: str) -> tuple[Any, int] | None:
        """(key, index just past its colon) when s starts with a mapping key, else None."""
        if s[0] in "'\"":
            end = _quoted_end(s, 0)
            after = s[end:].lstrip(" ")
            if after[:1] != ":" or not (len(after) == 1 or after[1] == " "):
                return None
            return _quoted_value(s, 0, end), len(s) - len(after) + 1
        colon = s.find(": ")
        if colon < 0:
            colon = len(s) - 1 if s.endswith(":") else -1
        hashed = s.find(" #")
        if colon < 0 or (0 <= hashed < colon):
            return None
        raw = s[:colon].rstrip(" ")
        if not raw or raw[0] in _PLAIN_START_BAD or raw[0] in "[{?:-" or raw.startswith("<<"):
            raise _Unsure
        return _plain(raw), colon + 1

    def _entry(self, mapping: CommentedMap, s: str, row: int, ind: int) -> tuple[Any, int]:
        found = self._key_end(s)
        if found is None:
            raise _Unsure
        key, past = found
        if key in mapping or isinstance(key, (float, bool)) or key is None:
            raise _Unsure  # ruamel refuses duplicates; odd keys are its to type
        rest = s[past:]
        vcol = ind + past + (len(rest) - len(rest.lstrip(" ")))
        rest = rest.lstrip(" ")
        if not rest or rest[0] == "#":
            _set(mapping, key, None)
            mapping.lc.add_kv_line_col(key, [row, ind, row, vcol])
            return (mapping, key, ind, True), -1
        _set(mapping, key, self._value(rest, row, vcol))
        mapping.lc.add_kv_line_col(key, [row, ind, row, vcol])
        return None, ind

    def _value(self, s: str, row: int, col: int) -> Any:
        """An inline value: a quoted or plain scalar, or a flow collection closed on this line."""
        first = s[0]
        if first in "[{":
            value, end = self._flow(s, 0, row, col, 0)
            if not _rest_is_comment(s, end):
                raise _Unsure
            return value
        if first in "'\"":
            end = _quoted_end(s, 0)
            if not _rest_is_comment(s, end):
                raise _Unsure
            return _quoted_value(s, 0, end)
        if first in _PLAIN_START_BAD or (first in "-?:" and (len(s) == 1 or s[1] == " ")):
            raise _Unsure
        hashed = s.find(" #")
        value = (s[:hashed] if hashed >= 0 else s).rstrip(" ")
        if ": " in value or value.endswith(":"):
            raise _Unsure  # ruamel: "mapping values are not allowed here"
        return _plain(value)

    # --- flow collections on one line ------------------------------------------------------------

    def _flow(self, s: str, i: int, row: int, base: int, depth: int) -> tuple[Any, int]:
        if depth > MAX_FLOW_DEPTH:
            raise _Unsure
        is_seq = s[i] == "["
        close = "]" if is_seq else "}"
        node: Any = CommentedSeq() if is_seq else CommentedMap()
        node.fa.set_flow_style()
        i += 1
        while True:
            i = self._skip(s, i)
            if s[i] == close:
                return node, i + 1
            start = i
            item, i = self._flow_scalar_or_collection(s, i, row, base, depth, is_seq)
            i = self._skip(s, i)
            if is_seq:
                if s[i] == ":":
                    raise _Unsure  # a single-pair mapping inside a sequence
                _append(node, item)
                node.lc.add_kv_line_col(len(node) - 1, [row, base + start])
            else:
                if s[i] != ":" or isinstance(item, (CommentedMap, CommentedSeq, float, bool)) or item is None \
                        or item in node:
                    raise _Unsure
                i = self._skip(s, i + 1)
                vstart = i
                if s[i] in ",}":
                    value: Any = None
                else:
                    value, i = self._flow_scalar_or_collection(s, i, row, base, depth, False)
                _set(node, item, value)
                node.lc.add_kv_line_col(item, [row, base + start, row, base + vstart])
                i = self._skip(s, i)
            if s[i] == ",":
                i += 1
            elif s[i] != close:
                raise _Unsure

    @staticmethod
    def _skip(s: str, i: int) -> int:
        while s[i] == " ":
            i += 1
        return i

    def _flow_scalar_or_collection(self, s: str, i: int, row: int, base: int, depth: int,
                                   in_seq: bool) -> tuple[Any, int]:
        first = s[i]
        if first in "[{":
            return self._flow(s, i, row, base, depth + 1)
        if first in "'\"":
            end = _quoted_end(s, i)
            return _quoted_value(s, i, end), end
        if first in _PLAIN_START_BAD or first in "?:-" and s[i + 1] in " ,]}":
            raise _Unsure
        j = i
        while True:
            ch = s[j]  # IndexError at the line's end: the collection is not closed here
            if ch in ",[]{}":
                break
            if ch == ":" and s[j + 1] in " ,]}":
                break
            if ch == "#" and s[j - 1] == " ":
                raise _Unsure
            j += 1
        return _plain(s[i:j].rstrip(" ")), j

