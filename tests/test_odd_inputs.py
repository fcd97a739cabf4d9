"""Issue 18: compose files that Compose accepts but stacktui's authors did not write.

Each case is a small project in its own folder, read by the real Compose CLI through the
CLI run in this process (static commands only: nothing is started), and checked by the
exact words the user sees.
"""
from __future__ import annotations

import io
from pathlib import Path

import pytest

from stacktui.cli import main


def write(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


def run_cli(monkeypatch, capsys, folder: Path, *args: str) -> tuple[int, str, str]:
    monkeypatch.chdir(folder)
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    capsys.readouterr()
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def nested(levels: int) -> str:
    return "{a: " * levels + "1" + "}" * levels


def test_an_owner_defined_only_in_the_override_file_is_named_not_a_traceback(tmp_path, monkeypatch, capsys):
    folder = write(tmp_path / "p", {
        "compose.yaml": "name: odd-override\nservices:\n  app:\n    image: busybox\n"
                        "    network_mode: \"service:owner\"\n",
        "compose.override.yaml": "services:\n  owner:\n    image: busybox\n    ports:\n"
                                 "      - \"127.0.0.1:18301:8080\"\n",
    })
    code, out, err = run_cli(monkeypatch, capsys, folder, "layout", "separate", "app", "--dry-run", "--ports", "8080")
    assert (code, out) == (2, "")
    assert err == (f"stacktui: {folder / 'compose.override.yaml'}:2: owner is defined in "
                   f"{folder / 'compose.override.yaml'}, not in {folder / 'compose.yaml'} (a layout change edits "
                   "one compose file; move the service's definition there)\n")


@pytest.mark.slow  # ruamel and Compose take seconds over thousands of levels; `make test` runs it, `make test-fast` not
def test_a_mapping_nested_thousands_deep_is_read_and_beyond_the_limit_refused_by_line(tmp_path, monkeypatch, capsys):
    head = "name: odd-deep\nservices:\n  owner:\n    image: busybox\n    ports:\n      - \"127.0.0.1:18302:8080\"\n" \
           "  app:\n    image: busybox\n    network_mode: \"service:owner\"\n"
    # Twice Python's default recursion limit (1,000 frames): read, checked and changed all the same.
    folder = write(tmp_path / "deep", {"compose.yaml": head + f"x-deep: {nested(2000)}\n"})
    code, out, err = run_cli(monkeypatch, capsys, folder, "check", "--static")
    assert (code, out, err) == (0, "project odd-deep: no findings (compose files checked)\n", "")
    code, out, err = run_cli(monkeypatch, capsys, folder, "layout", "separate", "app", "--dry-run", "--ports", "8080")
    assert code == 0, err
    assert out.endswith("dry run: separate app from owner (ports 8080); nothing written\n")

    folder = write(tmp_path / "deeper", {"compose.yaml": head + f"x-deep: {nested(6000)}\n"})
    code, out, err = run_cli(monkeypatch, capsys, folder, "check", "--static")
    assert (code, out) == (2, "")
    assert err == (f"stacktui: {folder / 'compose.yaml'}:10: nested deeper than 5,000 levels, stacktui's limit "
                   "(Compose may read it; stacktui will not)\n")


def test_env_lines_compose_accepts_are_read_as_compose_reads_them(tmp_path, monkeypatch, capsys):
    from stacktui.core.compose.dotenv import read_dotenv
    from tests.conftest import compose_cmd
    import json
    import subprocess

    folder = write(tmp_path / "env", {
        "compose.yaml": "name: odd-env\nservices:\n  app:\n    image: busybox\n    environment:\n"
                        "      CERT: \"${CERT}\"\n      LEVEL: \"${LEVEL}\"\n",
        ".env": "CERT=\"line one\nline two\"\n1ST=first\nexport LEVEL: debug # a comment\n",
    })
    code, out, err = run_cli(monkeypatch, capsys, folder, "check", "--static")
    assert (code, out, err) == (0, "project odd-env: no findings (compose files checked)\n", "")
    done = subprocess.run([*compose_cmd(), "config", "--format", "json"], cwd=folder, capture_output=True, text=True,
                          timeout=60)
    composed = json.loads(done.stdout)["services"]["app"]["environment"]
    ours = read_dotenv(folder / ".env")
    assert ours == {"CERT": "line one\nline two", "1ST": "first", "LEVEL": "debug"}
    assert {k: ours[k] for k in composed} == composed


def test_a_multi_document_file_is_read_as_compose_merges_it_and_not_edited(tmp_path, monkeypatch, capsys):
    folder = write(tmp_path / "multi", {
        "compose.yaml": "name: odd-multi\nservices:\n  owner:\n    image: busybox\n    ports:\n"
                        "      - \"127.0.0.1:18303:8080\"\n---\nservices:\n  app:\n    image: busybox\n"
                        "    network_mode: \"service:owner\"\n",
    })
    code, out, err = run_cli(monkeypatch, capsys, folder, "layout", "show")
    assert (code, err) == (0, "")
    assert out.splitlines()[1:3] == ["  owner: owns a network namespace shared with app", "    app joins network of owner"]
    code, out, err = run_cli(monkeypatch, capsys, folder, "layout", "separate", "app", "--dry-run", "--ports", "8080")
    assert (code, out) == (2, "")
    assert err == (f"stacktui: {folder / 'compose.yaml'}:7: compose.yaml holds more than one YAML document: stacktui "
                   "reads it but does not edit it (merge the documents into one, then try again)\n")


def test_build_ssh_with_a_path_is_read_through_compose_yaml_form(tmp_path, monkeypatch, capsys):
    folder = write(tmp_path / "ssh", {
        "compose.yaml": "name: odd-ssh\nservices:\n  app:\n    image: busybox\n    build:\n      context: .\n"
                        "      ssh:\n        - default\n        - mykey=./id_test\n",
        "id_test": "",
    })
    code, out, err = run_cli(monkeypatch, capsys, folder, "check", "--static")
    assert (code, out, err) == (0, "project odd-ssh: no findings (compose files checked)\n", "")


def test_a_symlinked_compose_file_belongs_to_the_folder_of_the_link(tmp_path, monkeypatch, capsys):
    """Compose takes the link's folder for the project's name and .env, not the target's."""
    write(tmp_path / "real", {"compose.yaml": "services:\n  app:\n    image: \"busybox:${ODD_TAG}\"\n"})
    folder = write(tmp_path / "odd-link", {".env": "ODD_TAG=1.36\n"})
    (folder / "compose.yaml").symlink_to("../real/compose.yaml")
    code, out, err = run_cli(monkeypatch, capsys, folder, "-f", "compose.yaml", "check", "--static")
    assert (code, out, err) == (0, "project odd-link: no findings (compose files checked)\n", "")


def test_joining_a_service_that_depends_on_you_is_refused_in_the_dry_run(tmp_path, monkeypatch, capsys):
    folder = write(tmp_path / "dep", {
        "compose.yaml": "name: odd-dep\nservices:\n  db:\n    image: busybox\n  web:\n    image: busybox\n"
                        "    depends_on:\n      - db\n",
    })
    code, out, err = run_cli(monkeypatch, capsys, folder, "layout", "shared", "db", "--with", "web", "--dry-run")
    assert (code, out) == (2, "")
    assert err == (f"stacktui: {folder / 'compose.yaml'}:7: web depends_on db, so db cannot join web's namespaces: "
                   "the two would need each other, and Compose refuses that cycle (remove that dependency first, "
                   "or share the other way: stacktui layout shared web --with db)\n")


def test_an_owner_switched_off_by_a_profile_says_which_profile_and_how_to_enable_it(tmp_path, monkeypatch, capsys):
    folder = write(tmp_path / "prof", {
        "compose.yaml": "name: odd-prof\nservices:\n  owner:\n    image: busybox\n    profiles: [vpn]\n"
                        "  app:\n    image: busybox\n    network_mode: \"service:owner\"\n",
    })
    code, out, err = run_cli(monkeypatch, capsys, folder, "check", "--static")
    assert (code, out) == (2, "")
    assert err == (f"stacktui: {folder / 'compose.yaml'}:8: service 'app': network_mode names service 'owner', which "
                   "is switched off: its profile vpn is not enabled (enable it with --profile vpn or "
                   "COMPOSE_PROFILES=vpn, or give app the same profiles so that both are off together)\n")
    code, out, err = run_cli(monkeypatch, capsys, folder, "--profile", "vpn", "check", "--static")
    assert (code, out, err) == (0, "project odd-prof: no findings (compose files checked)\n", "")


def test_an_owner_that_publishes_nothing_needs_no_ports_and_a_port_it_does_not_publish_is_refused(
        tmp_path, monkeypatch, capsys):
    folder = write(tmp_path / "nop", {
        "compose.yaml": "name: odd-nop\nservices:\n  db:\n    image: busybox\n  dev:\n    image: busybox\n"
                        "    network_mode: \"service:db\"\n",
    })
    for ports in ([], ["--ports", "none"]):
        code, out, err = run_cli(monkeypatch, capsys, folder, "layout", "separate", "dev", "--dry-run", *ports)
        assert (code, err) == (0, "")
        assert out.splitlines()[-2:] == ["note: no ports move: db publishes none",
                                         "dry run: separate dev from db; nothing written"]
    code, out, err = run_cli(monkeypatch, capsys, folder, "layout", "separate", "dev", "--dry-run", "--ports", "3000")
    assert (code, out) == (2, "")
    assert err == (f"stacktui: {folder / 'compose.yaml'}:3: db does not publish port 3000 (it publishes: none) "
                   "(name only ports that db publishes, or --ports none if no port moves)\n")


def test_a_nul_byte_and_a_compose_error_without_a_line_are_named_by_their_line(tmp_path, monkeypatch, capsys):
    folder = write(tmp_path / "nul", {
        "compose.yaml": "name: odd-nul\nservices:\n  app:\n    image: busybox\n    environment:\n      A: \"x\0y\"\n",
    })
    code, out, err = run_cli(monkeypatch, capsys, folder, "check", "--static")
    assert (code, out) == (2, "")
    assert err == (f"stacktui: {folder / 'compose.yaml'}:6: invalid YAML: character U+0000 is not allowed in YAML "
                   "(remove it, or write it as an escape in double quotes)\n")
    folder = write(tmp_path / "both", {
        "compose.yaml": "name: odd-both\nservices:\n  owner:\n    image: busybox\n  app:\n    image: busybox\n"
                        "    network_mode: \"service:owner\"\n    networks:\n      - default\n",
    })
    code, out, err = run_cli(monkeypatch, capsys, folder, "check", "--static")
    assert (code, out) == (2, "")
    assert err == (f"stacktui: {folder / 'compose.yaml'}:8: service app declares mutually exclusive `network_mode` "
                   "and `networks`: invalid compose project (run `docker compose config` to see it in full)\n")


def test_layout_show_says_a_host_network_service_has_no_namespace_of_its_own(tmp_path, monkeypatch, capsys):
    folder = write(tmp_path / "host", {
        "compose.yaml": "name: odd-host\nservices:\n  mon:\n    image: busybox\n    network_mode: host\n"
                        "    pid: host\n  app:\n    image: busybox\n",
    })
    code, out, err = run_cli(monkeypatch, capsys, folder, "layout", "show")
    assert (code, err) == (0, "")
    assert out == ("project odd-host\n  mon: the host's network namespace (none of its own); the host's pid\n"
                   "  app: own namespaces\n")


def test_two_joiners_of_one_owner_never_take_each_others_ports(tmp_path, monkeypatch, capsys):
    folder = write(tmp_path / "two", {
        "compose.yaml": "name: odd-two\nservices:\n  vpn:\n    image: busybox\n    ports:\n"
                        "      - \"127.0.0.1:18401:3000\" # app1\n      - \"127.0.0.1:18402:4000\" # app2\n"
                        "      - \"127.0.0.1:18403:5000\"\n  app1:\n    image: busybox\n"
                        "    network_mode: \"service:vpn\"\n  app2:\n    image: busybox\n    network_mode: \"service:vpn\"\n",
    })
    file = folder / "compose.yaml"
    code, out, err = run_cli(monkeypatch, capsys, folder, "layout", "separate", "app1", "--dry-run")
    assert (code, out) == (2, "")
    assert err == (f"stacktui: {file}:9: cannot tell which ports app1 listens on; vpn publishes 3000 for app1 (by the "
                   "comment on its line); nothing says whose 5000 is; 4000 is app2's (add `x-stacktui: "
                   "{listens: [...]}` to app1, or pass --ports 3000)\n")
    code, out, err = run_cli(monkeypatch, capsys, folder, "layout", "separate", "app1", "--dry-run",
                             "--ports", "3000,4000")
    assert (code, out) == (2, "")
    assert err == (f"stacktui: {file}:7: port 4000 is app2's (the comment on its line in vpn's ports says so), it "
                   "cannot move with app1 (leave it out of --ports, or correct the comment if it is app1's)\n")
    code, out, err = run_cli(monkeypatch, capsys, folder, "layout", "separate", "app1", "--dry-run", "--ports", "3000")
    assert (code, err) == (0, "")
    removed = [ln for ln in out.splitlines() if ln.startswith("-") and not ln.startswith("---")]
    assert removed == ['-      - "127.0.0.1:18401:3000" # app1', '-    network_mode: "service:vpn"']
    assert out.endswith("dry run: separate app1 from vpn (ports 3000); nothing written\n")


def test_a_variable_in_x_stacktui_is_expanded_by_compose_as_everywhere_else(tmp_path, monkeypatch):
    """Compose expands ${VAR} in x- fields, but its JSON leaves service extensions out: stacktui takes
    them from Compose's YAML form then, so `${PORT}` is never probed literally; `$$` stays a `$`."""
    from stacktui.core.compose.cli import ComposeTarget
    from stacktui.core.loader import load_project

    monkeypatch.setenv("ODD_PORT", "8081")
    folder = write(tmp_path / "p", {
        "compose.yaml": ("name: odd-xvar\nservices:\n  app:\n    image: busybox\n    x-stacktui:\n"
                         "      listens: [8080, \"${ODD_PORT}\", \"${ODD_OTHER:-9002}\"]\n"
                         "      health: http://app:${ODD_HEALTH_PORT}/health?q=$$x\n"
                         "  plain:\n    image: busybox\n    x-stacktui:\n      health: http://plain:80/$$y\n"),
        ".env": "ODD_HEALTH_PORT=9001\n"})
    project = load_project(ComposeTarget(files=(folder / "compose.yaml",)))
    assert project.services["app"].x.listens == (8080, 8081, 9002)
    assert project.services["app"].x.health == "http://app:9001/health?q=$x"
    assert project.services["plain"].x.health == "http://plain:80/$y"
