"""Issue 18: a layout change that reads only the services it touches writes what a whole-file edit writes.

Each change is prepared twice on the same file: as stacktui does it (one service at a time,
through layout.slices) and with the whole file through ruamel (the way every change was made
before); the new text, the diff and the notes must be the same, byte for byte.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from stacktui.core.compose.discovery import resolve_target
from stacktui.core.layout import edit as layout_edit
from stacktui.core.layout.prepare import prepare_separate, prepare_shared
from stacktui.core.loader import load_project
from tests.conftest import ROOT

ODD = """\
name: slices
# the services, written by hand
services:
    web:
        image: busybox
        ipc: shareable
        ports:
            - "8080:8080"   # web
            - 9001:9001     # api (shared)
        environment:
            SELF: http://localhost:8080
    api:
        image: busybox
        network_mode: service:web
        ipc: "service:web"
        environment:
            - WEB=http://localhost:8080
        x-stacktui: {health: "http://web:9001/health", listens: [9001]}

    # a worker that talks to api through web
    worker:
        image: busybox
        environment:
            API_URL: http://web:9001/v1
            OTHER: http://web:8080
        x-stacktui:
            health: http://web:9001/ready
# after the services
volumes:
    data: {}
"""

CASES = {
    "agentdb9 separate": ("agentdb9", lambda p: prepare_separate(p, "mcp-server")),
    "agentdb9 share again": ("agentdb9", lambda p: prepare_shared(p, "backend", "vscode")),
    "hand-written separate": ("odd", lambda p: prepare_separate(p, "api", [9001])),
    "hand-written, CRLF and no last newline": ("crlf", lambda p: prepare_separate(p, "api", [9001])),
    "hand-written share": ("odd", lambda p: prepare_shared(p, "worker", "web")),
}


def stack(tmp_path: Path, kind: str) -> Path:
    if kind == "agentdb9":
        shutil.copytree(ROOT / "compose" / "agentdb9", tmp_path / "s")
        return tmp_path / "s" / "docker-compose.yml"
    (tmp_path / "s").mkdir()
    file = tmp_path / "s" / "compose.yaml"
    file.write_bytes((ODD.replace("\n", "\r\n").rstrip("\r\n") if kind == "crlf" else ODD).encode())
    return file


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_a_change_read_service_by_service_writes_what_the_whole_file_edit_writes(tmp_path, monkeypatch, case):
    kind, prepare = case
    project = load_project(resolve_target([stack(tmp_path, kind)]))
    sliced = prepare(project)
    monkeypatch.setattr(layout_edit.ServiceSlices, "of", classmethod(lambda cls, *a: None))
    whole = prepare(project)
    assert sliced.changed
    assert (sliced.new_text, sliced.diff, sliced.notes, sliced.touched_services) == \
        (whole.new_text, whole.diff, whole.notes, whole.touched_services)


def test_only_the_services_a_change_touches_are_read_again(tmp_path, monkeypatch):
    project = load_project(resolve_target([stack(tmp_path, "odd")]))
    read: list[str] = []
    real = layout_edit.ServiceSlices.get

    def counting(self, name, default=None):
        if name not in self.read:
            read.append(name)
        return real(self, name, default)

    monkeypatch.setattr(layout_edit.ServiceSlices, "get", counting)
    prepare_separate(project, "api", [9001])
    assert sorted(read) == ["api", "web", "worker"]  # worker names web:9001, which moves to api
    read.clear()
    prepare_separate(project, "api", [])  # nothing moves: nobody else's settings change
    assert sorted(read) == ["api", "web"]
