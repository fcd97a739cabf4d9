"""The user's [[commands]] and [[hooks]] in config.toml: each bad entry is one line naming config.toml:LINE
and the fix, the others are kept; placeholders are filled in quoted, so a value is never shell syntax."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from tests.usercli import STACKTUI, cli_env

from stacktui.core.settings import load_settings, parse_settings
from stacktui.core.userconf import HOOK_EVENTS, check_template, fill

HOSTILE = ["x; touch {d}/semicolon", "$(touch {d}/dollar)", "`touch {d}/backtick`", "a' ; touch {d}/quote ; '",
           'b" ; touch {d}/dquote ; "', "c\\\" ; touch {d}/backslash", "-n\ntouch {d}/newline", "${{IFS}}touch${{IFS}}{d}/ifs",
           "*", "", "d && touch {d}/and || touch {d}/or"]


def problems(text: str, tmp_path: Path) -> list[str]:
    return [str(p) for p in parse_settings(text, tmp_path / "config.toml").problems]


@pytest.mark.parametrize("template", ["printf '%s\\n' {service}", "echo {service}{project} -- {owner}",
                                      "printf %s {service}x", "echo \\'{service}"])
def test_a_hostile_value_reaches_the_shell_as_one_word_and_runs_nothing(tmp_path, template):
    for raw in HOSTILE:
        value = raw.format(d=tmp_path)
        script = fill(template, {"service": value, "project": value, "owner": value})
        done = subprocess.run(["sh", "-c", script], capture_output=True, text=True, timeout=10)
        assert done.returncode == 0, (script, done.stderr)
        assert value in done.stdout, (script, done.stdout)
    assert list(tmp_path.iterdir()) == []  # nothing the values held ran


def test_the_shells_own_braces_and_literal_ones_are_left_alone():
    assert fill("echo ${HOME} {{service}} {service}", {"service": "db"}) == "echo ${HOME} {service} db"
    assert fill("awk '{print $1}' | grep {service}", {"service": "a b"}) == "awk '{print $1}' | grep 'a b'"
    assert fill("echo \\{service}", {"service": "x;y"}) == "echo \\{service}"  # escaped: the shell's braces
    assert check_template("awk '{print $1}'") is None


@pytest.mark.parametrize("template, said", [
    ("echo '{service}'", "{service} is inside quotes"),
    ('echo "x {container}"', "{container} is inside quotes"),
    ("echo {servce}", "unknown placeholder {servce}"),
])
def test_a_placeholder_that_would_not_be_one_word_is_refused(template, said):
    assert check_template(template) == said


def test_each_bad_entry_is_one_line_with_its_line_and_the_good_ones_stay(tmp_path):
    text = "\n".join([
        'theme = "nord"',                               # 1
        "[[commands]]",                                 # 2
        'name = "ok"',                                  # 3
        'host = "echo {project}"',                      # 4
        "[[commands]]",                                 # 5
        'name = "quoted"',                              # 6
        "run = \"psql -h '{service}'\"",                # 7
        "[[commands]]",                                 # 8
        'name = "clash"',                               # 9
        'key = "r"',                                    # 10
        'host = "true"',                                # 11
        "[[commands]]",                                 # 12
        'name = "typo"',                                # 13
        'host = "curl localhost:{prot}"',               # 14
        "[[commands]]",                                 # 15
        'name = "both"',                                # 16
        'run = "a"',                                    # 17
        'host = "b"',                                   # 18
        "[[commands]]",                                 # 19
        'name = "mode"',                                # 20
        'host = "b"',                                   # 21
        'mode = "dialog"',                              # 22
        "[[commands]]",                                 # 23
        'name = "tab"',                                 # 24
        'key = "tab"',                                  # 25
        'host = "b"',                                   # 26
        "[[commands]]",                                 # 27
        'name = "second"',                              # 28
        'key = "ctrl+o"',                               # 29
        'host = "b"',                                   # 30
        "[[commands]]",                                 # 31
        'name = "third"',                               # 32
        'key = "ctrl+o"',                               # 33
        'host = "b"',                                   # 34
        "[[hooks]]",                                    # 35
        'on = ["heal_done", "healed"]',                 # 36
        'run = "cat"',                                  # 37
        "[[hooks]]",                                    # 38
        'run = "cat"',                                  # 39
        "timeout = 0",                                  # 40
        "[[hooks]]",                                    # 41
        'run = "notify-send stacktui"',                 # 42
        'on = ["heal_failed"]',                         # 43
        "[[hooks]]",                                    # 44
        'command = "cat"',                              # 45
    ]) + "\n"
    path = tmp_path / "config.toml"
    settings = parse_settings(text, path)
    assert settings.theme == "nord"
    assert [c.name for c in settings.commands] == ["ok", "second"]
    assert [h.on for h in settings.hooks] == [("heal_failed",)]
    said = [str(p) for p in settings.problems]
    assert [s.split(": ", 1)[0] for s in said] == [f"{path}:{n}" for n in (7, 10, 14, 18, 22, 25, 33, 36, 40, 45)]
    assert all(s.count("\n") == 0 and s.endswith(")") for s in said)  # one line each, with the fix
    assert "{service} is inside quotes in the command 'quoted'" in said[0] and "without quotes" in said[0]
    assert "r is already bound to restart" in said[1]
    assert "unknown placeholder {prot}" in said[2]
    assert "has both run and host" in said[3]
    assert "mode 'dialog' is not interactive or output" in said[4]
    assert "tab is already kept by stacktui" in said[5]
    assert "ctrl+o is already the command 'second'" in said[6]
    assert "unknown event 'healed'" in said[7] and ", ".join(HOOK_EVENTS) in said[7]
    assert "timeout must be seconds" in said[8]
    assert "unknown field 'command' in [[hooks]]" in said[9]


def test_a_key_remapped_in_keys_is_what_a_command_clashes_with(tmp_path):
    text = '[keys]\nrestart = "x"\n\n[[commands]]\nname = "a"\nkey = "r"\nhost = "true"\n' \
           '[[commands]]\nname = "b"\nkey = "x"\nhost = "true"\n'
    settings = parse_settings(text, tmp_path / "config.toml")
    assert [c.key for c in settings.commands] == ["r"]  # r is free once restart moved to x
    assert [str(p).split(": ", 1)[1] for p in settings.problems] == [
        "x is already bound to restart, not free for the command 'b' (choose another key; `stacktui config` "
        "lists the keys in use)"]


def test_the_cli_exits_2_with_the_line_and_config_prints_the_entries(tmp_path):

    home = tmp_path / "cfg"
    (home / "stacktui").mkdir(parents=True)
    path = home / "stacktui" / "config.toml"
    env = cli_env(XDG_CONFIG_HOME=str(home))
    env.pop("DOCKER_HOST", None)
    path.write_text('[[commands]]\nname = "m"\nhost = "curl localhost:{prot}/metrics"\n')
    done = subprocess.run([*STACKTUI, "config"], capture_output=True, text=True, env=env,
                          timeout=60)
    assert done.returncode == 2
    assert done.stderr.startswith(f"stacktui: {path}:3: unknown placeholder {{prot}} in the command 'm' (")
    assert done.stderr.count("\n") == 1
    path.write_text('[[commands]]\nname = "m"\nkey = "M"\nhost = "curl -s localhost:{port}/metrics | head"\n'
                    '[[hooks]]\non = ["heal_failed"]\nrun = "notify-send \\"stacktui\\""\n')
    done = subprocess.run([*STACKTUI, "config"], capture_output=True, text=True, env=env,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    printed = done.stdout.split("\n", 1)[1]
    again = parse_settings(printed, path)  # what config prints is a file that gives the same settings
    assert again.commands == load_settings(path).commands
    assert again.hooks == load_settings(path).hooks and again.hooks[0].run == 'notify-send "stacktui"'
    assert '[[commands]]\nname = "m"\nkey = "M"\nhost = "curl -s localhost:{port}/metrics | head"' in printed
