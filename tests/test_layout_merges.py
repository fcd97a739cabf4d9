"""Layout changes on files written with YAML anchors and merges, and dry runs that Compose refuses.

The tailscale-sidecar pattern: `application: &app` joins the sidecar, `worker: {<<: *app}`
inherits all of it. Separating application edits the anchor's map; worker must stay exactly
what it was, as Compose reads it. And a dry run asks Compose about the changed text as the apply
does, so a change the apply would meet refused is refused by the dry run, in Compose's words.
Files only: the CLI runs in this process (no engine needed; `--ports` says which ports move).
"""
from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path

import pytest

from stacktui.cli import main
from stacktui.core.compose.cli import compose_command

SIDECAR = """\
services:
  tailscale:
    image: busybox
    ipc: shareable
    ports:
      - "127.0.0.1:18080:8080"   # the application's web port
  application: &app
    image: busybox
    network_mode: service:tailscale
    ipc: service:tailscale
    command: ["sleep", "1000"]
  worker:
    <<: *app
    command: ["sleep", "2000"]
"""


def run(folder: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
        ) -> tuple[int, str, str]:
    monkeypatch.chdir(folder)
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    capsys.readouterr()
    try:
        code = main(list(args))
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def compose_view(folder: Path, text: str) -> dict:
    """Compose's own reading of text, as the apply would get it."""
    done = subprocess.run([*compose_command(), "-p", "merges", "-f", "-", "config", "--format", "json"],
                          cwd=folder, input=text, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["services"]


def new_text(stdout: str, old: str) -> str:
    """The file as the printed diff leaves it."""
    lines = old.splitlines(keepends=True)
    out: list[str] = []
    i = 0
    for line in stdout.splitlines(keepends=True):
        if line.startswith("@@"):
            start = int(line.split()[1].split(",")[0][1:]) - 1
            out += lines[i:start]
            i = start
        elif line.startswith(("---", "+++")) or not line[:1] in (" ", "-", "+"):
            continue
        elif line.startswith(" "):
            out.append(lines[i])
            i += 1
        elif line.startswith("-"):
            i += 1
        else:
            out.append(line[1:])
    return "".join(out + lines[i:])


@pytest.fixture
def sidecar(tmp_path: Path) -> Path:
    folder = tmp_path / "sidecar"
    folder.mkdir()
    (folder / "compose.yaml").write_text(SIDECAR)
    return folder


@pytest.mark.parametrize("ports", ["none", "8080"])
def test_separating_an_anchor_that_another_service_merges_leaves_that_service_as_it_was(
        sidecar: Path, ports: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(sidecar, monkeypatch, capsys, "layout", "separate", "application", "--ports", ports,
                         "--dry-run")
    assert code == 0, err
    assert "worker merges application's map" in out
    assert (sidecar / "compose.yaml").read_text() == SIDECAR  # a dry run

    before = compose_view(sidecar, SIDECAR)
    after = compose_view(sidecar, new_text(out, SIDECAR))
    assert after["worker"] == before["worker"]  # still in tailscale's namespaces, no port of its own
    assert "network_mode" not in after["application"] and "ipc" not in after["application"]
    moved = [p["target"] for p in after["application"].get("ports", [])]
    assert moved == ([] if ports == "none" else [8080])
    assert [p["target"] for p in after["tailscale"].get("ports", [])] == ([8080] if ports == "none" else [])


def test_an_anchor_change_a_merge_cannot_keep_out_is_refused_with_the_place_and_the_fix(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "nets"
    folder.mkdir()
    text = SIDECAR.replace('      - "127.0.0.1:18080:8080"   # the application\'s web port\n',
                           '      - "127.0.0.1:18080:8080"\n    networks: [front]\n') + "networks:\n  front: {}\n"
    (folder / "compose.yaml").write_text(text)
    code, out, err = run(folder, monkeypatch, capsys, "layout", "separate", "application", "--ports", "none",
                         "--dry-run")
    assert code == 2
    assert err.startswith(f"stacktui: {folder / 'compose.yaml'}:8: application's map is a YAML anchor that worker "
                          "(line 13) merges (<<): the change gives application `networks`"), err
    assert "x-common: &common" in err and "Traceback" not in err
    assert (folder / "compose.yaml").read_text() == text


def test_a_dry_run_that_compose_refuses_fails_as_the_apply_would(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "extends"
    folder.mkdir()
    text = ("services:\n  bar:\n    image: busybox\n    command: [\"sleep\", \"1000\"]\n"
            "  foo:\n    extends: bar\n    command: [\"sleep\", \"2000\"]\n")
    (folder / "compose.yaml").write_text(text)
    code, out, err = run(folder, monkeypatch, capsys, "layout", "shared", "bar", "--with", "foo", "--dry-run")
    assert code == 2, out
    assert "dependency cycle detected" in err  # Compose's own words
    assert "dry run" not in out
    assert (folder / "compose.yaml").read_text() == text

    # The apply meets the same refusal, the same way: nothing written.
    code, _out, applied = run(folder, monkeypatch, capsys, "layout", "shared", "bar", "--with", "foo", "--yes",
                              "--no-up")
    assert code == 2 and applied == err
    assert (folder / "compose.yaml").read_text() == text
