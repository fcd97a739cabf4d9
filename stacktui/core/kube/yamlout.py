"""Kubernetes objects as YAML: block style, keys in the order built, a string quoted whenever it
could read as anything else. Hand-written: a 2,000-service export is dumped in a fraction of what
a general YAML emitter takes, and the output never changes with a library's version."""
from __future__ import annotations

import json
import re
from typing import Any, Sequence

_PLAIN = re.compile(r"^[A-Za-z_/][A-Za-z0-9_./-]*$")
_WORDS = {"y", "yes", "n", "no", "true", "false", "on", "off", "null", "~"}


_MEMO: dict[str, str] = {}  # the same names and values recur in every object: each is judged once
_MEMO_LIMIT = 200_000


def _text(text: str) -> str:
    found = _MEMO.get(text)
    if found is None:
        found = text if _PLAIN.match(text) and text.lower() not in _WORDS else json.dumps(text, ensure_ascii=False)
        if len(_MEMO) < _MEMO_LIMIT:
            _MEMO[text] = found
    return found


def scalar(value: Any) -> str:
    if type(value) is str:
        return _text(value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    return _text(str(value))


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ufeff]")


def _literal(text: str) -> str | None:
    """`|` or `|-` when the text reads back exactly as a literal block (a file's lines, a script), else None."""
    if "\n" not in text or _CONTROL.search(text) or text[:1] in (" ", "\t") or text.endswith("\n\n"):
        return None
    if any(line.strip() == "" and line for line in text.split("\n")):
        return None  # a line of only blanks: the block's indentation would be guessed from it
    return "|" if text.endswith("\n") else "|-"


def _block(text: str, indent: int, out: list[str]) -> None:
    pad = " " * indent
    out.extend(f"{pad}{line}" if line else "" for line in text.removesuffix("\n").split("\n"))


def _inline(item: Any) -> str:
    if type(item) is dict:
        return "{}"
    if type(item) is list:
        return "[]"
    return scalar(item)


def _lines(value: Any, indent: int, out: list[str]) -> None:
    pad = " " * indent
    if type(value) is dict:
        for key, item in value.items():
            head = f"{pad}{_text(key) if type(key) is str else scalar(key)}:"
            kind = type(item)
            if kind is str and "\n" in item and (style := _literal(item)):
                out.append(f"{head} {style}")
                _block(item, indent + 2, out)
            elif (kind is dict or kind is list) and item:
                out.append(head)
                _lines(item, indent + 2 if kind is dict else indent, out)
            else:
                out.append(f"{head} {_inline(item)}")
        return
    for item in value:
        kind = type(item)
        if kind is str and "\n" in item and (style := _literal(item)):
            out.append(f"{pad}- {style}")
            _block(item, indent + 2, out)
        elif (kind is dict or kind is list) and item:
            sub: list[str] = []
            _lines(item, indent + 2, sub)
            out.append(f"{pad}- {sub[0][indent + 2:]}")
            out.extend(sub[1:])
        else:
            out.append(f"{pad}- {_inline(item)}")


def dump(obj: dict[str, Any]) -> str:
    out: list[str] = []
    _lines(obj, 0, out)
    return "\n".join(out) + "\n"


def dump_all(objects: list[dict[str, Any]], comments: Sequence[str] = ()) -> str:
    head = "".join(f"# {line}\n" for line in comments)
    return head + "".join(f"---\n{dump(obj)}" for obj in objects)
