"""Issue 18: the fast reader of plain block YAML reads what ruamel reads, or declines.

Every tree it builds must hold the same values, key order, types and lines (`lc.key`,
`lc.item`) as ruamel's round-trip read; whatever it is not sure of it leaves to ruamel (None).
"""
from __future__ import annotations

from pathlib import Path

import pytest
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from bench.bigfile import big_compose
from stacktui.core.compose import blockyaml
from stacktui.core.compose.source import _parse
from tests.conftest import ROOT


def ruamel(text: str) -> object:
    return _parse(text, Path("compose.yaml"), every=False, comments=False)


def differences(fast: object, slow: object, path: str = "") -> list[str]:
    if isinstance(slow, bool) or isinstance(fast, bool):
        return [] if type(fast) is type(slow) and fast == slow else [f"{path}: {fast!r} != {slow!r}"]
    if isinstance(slow, CommentedMap):
        if not isinstance(fast, CommentedMap) or list(fast) != list(slow):
            return [f"{path}: keys {list(fast) if isinstance(fast, dict) else fast!r} != {list(slow)}"]
        out = [f"{path}.{k}: line/column {fast.lc.key(k)} != {slow.lc.key(k)}" for k in slow
               if fast.lc.key(k) != slow.lc.key(k)]
        return out + [d for k in slow for d in differences(fast[k], slow[k], f"{path}.{k}")]
    if isinstance(slow, CommentedSeq):
        if not isinstance(fast, CommentedSeq) or len(fast) != len(slow):
            return [f"{path}: {fast!r} != {slow!r}"]
        out = [f"{path}[{i}]: line/column {fast.lc.item(i)} != {slow.lc.item(i)}" for i in range(len(slow))
               if fast.lc.item(i) != slow.lc.item(i)]
        return out + [d for i in range(len(slow)) for d in differences(fast[i], slow[i], f"{path}[{i}]")]
    kinds = (str, int, float, type(None))
    same_kind = next(k for k in kinds if isinstance(slow, k)) is next((k for k in kinds if isinstance(fast, k)), None)
    return [] if same_kind and fast == slow else [f"{path}: {fast!r} ({type(fast).__name__}) != {slow!r}"]


SAME = {
    "every form it reads": """\
---
# a comment first
name: demo   # trailing
services:
  web:
    image: "nginx:1.25"
    command: ["sh", "-c", 'echo ''hi''; sleep 1', --flag]
    ports:
    - "127.0.0.1:8080:80" # for app
    - 9000:9000
    - target: 443
      published: "8443"
      protocol: tcp
    environment:
      A: 1
      B: 1.5
      C: true
      D: null
      E: ~
      F:
      G: ""
      H: "tab\\there \\u00e9 \\x41"
      I: 'it''s'
      J: plain value with spaces
      K: http://app:8080/path?x=1#frag
      org.label-schema.name: x:y
    x-stacktui: {health: "http://web:80/", listens: [80, 8080]}
    healthcheck:
      test: [CMD, wget, -q, "http://localhost:80"]
      interval: 30s
    depends_on:
      db: {condition: service_healthy, restart: true}
  db:
    network_mode: service:web
    volumes:
      - type: bind
        source: ./data
        target: /data

      - ./more:/more:ro
    labels:
      - "a=b"
      -   spaced item
    empty_map: {}
    empty_seq: []
networks:
  default:
""",
    "CRLF line ends and a byte-order mark": "\ufeffservices:\r\n  app:\r\n    image: busybox\r\n    ports:\r\n      - 80\r\n",
    "a sequence of mappings indented under its key": "services:\n  a:\n    volumes:\n      -\n        type: volume\n        source: x\n",
    "two thousand services": big_compose(40),
}


@pytest.mark.parametrize("text", SAME.values(), ids=SAME.keys())
def test_what_it_reads_is_what_ruamel_reads(text):
    fast = blockyaml.read(text)
    assert fast is not None
    assert differences(fast, ruamel(text)) == []


def test_every_compose_file_of_the_repository_it_reads_is_read_as_ruamel_does():
    files = sorted([*ROOT.glob("tests/data/**/*.y*ml"), *ROOT.glob("bench/stacks/**/*.y*ml")])
    read = 0
    for f in files:
        text = f.read_text(encoding="utf-8")
        fast = blockyaml.read(text)
        if fast is not None:
            read += 1
            assert differences(fast, ruamel(text)) == [], f
    assert read >= 3  # the files without aliases


DECLINED = {
    "an anchor and an alias": "x: &a {k: v}\nservices:\n  app: *a\n",
    "a merge key": "services:\n  app:\n    <<: {image: x}\n",
    "a tag": "services:\n  app:\n    ports: !reset []\n",
    "a literal block": "services:\n  app:\n    command: |\n      echo hi\n",
    "a folded block": "services:\n  app:\n    command: >\n      echo hi\n",
    "a flow sequence over two lines": "services:\n  app:\n    command: [a,\n      b]\n",
    "a plain scalar over two lines": "services:\n  app:\n    image: busybox\n      :latest\n",
    "a quoted scalar over two lines": "services:\n  app:\n    image: \"busy\n      box\"\n",
    "a second document": "services: {}\n---\nservices: {}\n",
    "a tab": "services:\n\tapp: {}\n",
    "a duplicate key": "services:\n  app:\n    image: a\n    image: b\n",
    "an octal number": "services:\n  app:\n    mode: 0755\n",
    "a timestamp": "x-date: 2024-01-01\nservices: {}\n",
    "a float ruamel writes its own way": "x: 1e3\nservices: {}\n",
    "a NUL byte": "services:\n  app:\n    image: a\x00b\n",
    "a value where a mapping is": "services:\n  app:\n    image: a: b\n",
    "a top-level list": "- a\n- b\n",
    "an empty file": "",
    "a deeper key after a value": "services:\n  app: x\n    image: a\n",
    "a nesting deeper than the limit": "".join(f"{'  ' * i}k{i}:\n" for i in range(12)) + "  " * 12 + "v: 1\n",
}


@pytest.mark.parametrize("text", DECLINED.values(), ids=DECLINED.keys())
def test_what_it_is_not_sure_of_is_left_to_ruamel(text):
    assert blockyaml.read(text, max_depth=10) is None
