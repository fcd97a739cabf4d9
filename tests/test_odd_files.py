"""Odd but valid, and invalid, compose files (issue: hostile compose files): each gets one line
naming the file and line, or works as Compose would, and an edit keeps the file's own bytes.

Static commands only: Compose's `config` reads each file, no engine is needed.
"""
from __future__ import annotations

from pathlib import Path

from tests.test_odd_inputs import run_cli

JOINER = "  owner:\n    image: busybox\n  app:\n    image: busybox\n    network_mode: \"service:owner\"\n"


def folder_with(tmp_path: Path, name: str, files: dict[str, bytes | str]) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    for file, content in files.items():
        data = content.encode() if isinstance(content, str) else content
        (folder / file).write_bytes(data)
    return folder


def test_a_bom_and_crlf_lines_are_read_and_kept_by_an_edit(tmp_path, monkeypatch, capsys):
    text = f"name: odd-bytes\nservices:\n{JOINER}"
    for name, data in (("bom", b"\xef\xbb\xbf" + text.encode()), ("crlf", text.replace("\n", "\r\n").encode())):
        folder = folder_with(tmp_path, name, {"compose.yaml": data})
        assert run_cli(monkeypatch, capsys, folder, "check", "--static")[0] == 0
        code, out, err = run_cli(monkeypatch, capsys, folder, "layout", "separate", "app", "--yes", "--no-up",
                                 "--ports", "none")
        assert code == 0, err
        written = (folder / "compose.yaml").read_bytes()
        assert b"network_mode" not in written
        if name == "bom":
            assert written.startswith(b"\xef\xbb\xbfname: odd-bytes\n")
        else:
            assert written.count(b"\r\n") == written.count(b"\n") == text.count("\n") - 1


def test_invalid_files_are_one_line_with_their_line(tmp_path, monkeypatch, capsys):
    cases = {
        "tabs": ("services:\n  owner:\n\timage: busybox\n", 3, "invalid YAML: found character '\\t' that cannot "
                 "start any token"),
        "latin1": (b"services:\n  owner:\n    image: busybox\n    environment:\n      X: \"caf\xe9\"\n", 5,
                   "not UTF-8 text: byte 0xE9 cannot be read as UTF-8 (save it as UTF-8, e.g. with "
                   "`iconv -f latin1 -t utf-8`)"),
        "dupkeys": ("services:\n  owner:\n    image: busybox\n  owner:\n    image: alpine\n", 4,
                    "invalid YAML: found duplicate key \"owner\""),
        "svclist": ("services:\n  - owner\n", 1, "services is a list, not a mapping of service names to their "
                    "settings (write each service as `name:` with its settings indented below it)"),
        "svcnull": ("name: odd-null\nservices:\n", 2, "services is empty, not a mapping of service names to their "
                    "settings"),
        "toplist": ("- a\n- b\n", 1, "the top level is a list, not a mapping (a compose file is a mapping of keys "
                    "such as `services:`)"),
        "mixedcycle": ("services:\n  a:\n    image: busybox\n    network_mode: \"service:b\"\n  b:\n"
                       "    image: busybox\n    ipc: \"service:a\"\n", 4,
                       "dependency cycle a -> b -> a: a joins b's network namespace"),
    }
    for name, (content, line, message) in cases.items():
        folder = folder_with(tmp_path, name, {"compose.yaml": content})
        code, out, err = run_cli(monkeypatch, capsys, folder, "check", "--static")
        assert (code, out) == (2, ""), (name, err)
        assert err.startswith(f"stacktui: {folder / 'compose.yaml'}:{line}: {message}"), (name, err)
        assert err.count("\n") == 1, (name, err)
        assert "Traceback" not in err


def test_an_owner_from_an_included_file_and_an_interpolated_owner_work_as_in_compose(tmp_path, monkeypatch, capsys):
    included = folder_with(tmp_path, "include", {
        "compose.yaml": "name: odd-include\ninclude:\n  - other.yaml\nservices:\n  app:\n    image: busybox\n"
                        "    network_mode: \"service:owner\"\n",
        "other.yaml": "services:\n  owner:\n    image: busybox\n",
    })
    code, out, err = run_cli(monkeypatch, capsys, included, "layout", "show")
    assert code == 0, err
    assert "owner: owns a network namespace shared with app" in out
    code, out, err = run_cli(monkeypatch, capsys, included, "layout", "separate", "app", "--dry-run", "--ports", "none")
    assert code == 0, err
    assert "-    network_mode: \"service:owner\"" in out

    interpolated = folder_with(tmp_path, "interp", {
        "compose.yaml": "name: odd-interp\nservices:\n  owner:\n    image: busybox\n  app:\n    image: busybox\n"
                        "    network_mode: \"service:${OWNER}\"\n",
        ".env": "OWNER=owner\n",
    })
    code, out, err = run_cli(monkeypatch, capsys, interpolated, "layout", "show")
    assert code == 0, err
    assert "owner: owns a network namespace shared with app" in out
    code, out, err = run_cli(monkeypatch, capsys, interpolated, "layout", "separate", "app", "--dry-run",
                             "--ports", "none")
    assert code == 0, err
    assert "-    network_mode: \"service:${OWNER}\"" in out


def test_a_layout_change_names_the_file_to_edit_when_the_key_comes_from_elsewhere(tmp_path, monkeypatch, capsys):
    folder = folder_with(tmp_path, "extends", {
        "compose.yaml": "name: odd-extends\nservices:\n  owner:\n    image: busybox\n  app:\n    extends:\n"
                        "      file: base.yaml\n      service: base\n",
        "base.yaml": "services:\n  base:\n    image: busybox\n    network_mode: \"service:owner\"\n",
    })
    code, out, err = run_cli(monkeypatch, capsys, folder, "layout", "separate", "app", "--dry-run", "--ports", "none")
    assert (code, out) == (2, "")
    assert err == (f"stacktui: {folder / 'compose.yaml'}:5: network_mode of app is not written in "
                   f"{folder / 'compose.yaml'} (edit network_mode in base.yaml, where the service it extends "
                   "(base) sets it)\n")

    joined = folder_with(tmp_path, "container", {
        "compose.yaml": "name: odd-container\nservices:\n  app:\n    image: busybox\n"
                        "    network_mode: \"container:someone\"\n"})
    code, out, err = run_cli(monkeypatch, capsys, joined, "layout", "separate", "app", "--dry-run")
    assert (code, out) == (2, "")
    assert err == (f"stacktui: {joined / 'compose.yaml'}:3: app joins a container by name (network_mode: "
                   "container:someone), not a service of this project: stacktui switches `service:` layouts only "
                   "(edit it by hand, or name the service it should join)\n")
    code, out, err = run_cli(monkeypatch, capsys, joined, "check", "--static")
    assert code == 0, err
