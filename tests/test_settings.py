"""config.toml: what `stacktui config` shows, and the one-line `config.toml:LINE` message for a bad file.

The schema lives in core (no Textual); the last tests keep it equal to what the
TUI and Textual really have: the app's Bindings, Textual's themes, Textual's key names.
"""
from __future__ import annotations

import string
import subprocess
from pathlib import Path

import pytest
from tests.usercli import STACKTUI, cli_env

from stacktui.core.errors import ConfigError
from stacktui.core.settings import (ACTION_IDS, KEY_ACTIONS, THEMES, Settings, config_path, example_toml,
                                    load_settings, normalize_keys, parse_settings)

ROOT = Path(__file__).resolve().parent.parent


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "stacktui" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def stacktui(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = cli_env(XDG_CONFIG_HOME=str(tmp_path))
    return subprocess.run([*STACKTUI, *args], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60, env=env, stdin=subprocess.DEVNULL)


def test_the_file_is_under_xdg_config_home_else_dot_config():
    assert config_path({"XDG_CONFIG_HOME": "/x/conf", "HOME": "/home/u"}) == Path("/x/conf/stacktui/config.toml")
    assert config_path({"HOME": "/home/u"}) == Path("/home/u/.config/stacktui/config.toml")
    # The XDG spec: a relative value is to be ignored.
    assert config_path({"XDG_CONFIG_HOME": "rel", "HOME": "/home/u"}) == Path("/home/u/.config/stacktui/config.toml")


def test_no_file_means_every_default(tmp_path):
    settings = load_settings(tmp_path / "nothing.toml")
    assert settings == Settings()
    assert settings.keymap()["restart"] == "r" and settings.keymap()["search"] == "slash"


def test_values_and_a_remapped_key_are_read(tmp_path):
    path = write(tmp_path, 'theme = "textual-light"\nlog_history = "all"\nlog_lines = 500\nprobe_interval = 0\n'
                           'resource_refresh = 1\nheal = true\n\n[keys]\nrestart = "x"\nsearch = "?"\nhelp = "f1"\n')
    s = load_settings(path)
    assert (s.theme, s.log_history, s.log_lines, s.probe_interval, s.resource_refresh, s.heal) == \
        ("textual-light", "all", 500, 0.0, 1.0, True)
    keymap = s.keymap()
    assert keymap["restart"] == "x" and keymap["search"] == "question_mark" and keymap["help"] == "f1"
    assert keymap["share"] == "s"  # untouched actions keep their keys
    assert s.path == path


@pytest.mark.parametrize(("text", "line", "message", "fix"), [
    ('theme = "nord"\nlog_lines = [\n', 2, "not valid TOML", "toml.io"),
    ('# mine\n\ncolour = "red"\n', 3, "unknown setting 'colour'", "the settings are theme"),
    ('theme = "nord"\nlog_lines = "many"\n', 2, "log_lines must be a number of lines", "write log_lines = 20000"),
    ('heal = 1\n', 1, "heal must be true or false, not 1", "write heal = false"),
    ('probe_interval = true\n', 1, "probe_interval must be seconds", "write probe_interval = 5"),
    ('theme = "neon"\n', 1, "unknown theme 'neon'", "textual-light"),
    ('resource_refresh = 0.1\n', 1, "resource_refresh 0.1 is out of range", "at least 0.5"),
    ('heal = true\nheal_backoff = 0\n', 2, "heal_backoff 0 is out of range", "at most 300 seconds"),
    ('unhealthy_checks = 0\n', 1, "unhealthy_checks 0 is too small", "unhealthy_checks = 3"),
    ('heal_unhealthy = "yes"\n', 1, "heal_unhealthy must be true or false", "heal_unhealthy = false"),
    ('[keys]\nrestart = "x"\nrestat = "y"\n', 3, "unknown action 'restat' in [keys]", "did you mean 'restart'"),
    ('[keys]\nrestart = 5\n', 2, "the key for restart must be a string, not 5", 'write e.g. restart = "x"'),
    ('[keys]\nrestart = "s"\n', 2, "s is bound to both restart and share", "give share another key"),
    ('[keys]\nquit = "x"\ncheck = "x"\n', 3, "x is bound to both check and quit", "give quit another key"),
    ('[keys]\n\nhelp = "/"\n', 3, "slash is bound to both search and help", "give search another key"),
    ('[keys]\nquit = "ctlr+q"\n', 2, "'ctlr+q' is not a key", "ctrl+x"),
    ('[keys]\nquit = "ctrl+p"\n', 2, "ctrl+p is not free for quit: it opens the command palette", "another key"),
])
def test_a_bad_file_is_one_error_naming_its_line_and_the_fix(tmp_path, text, line, message, fix):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    shown = str(caught.value)
    assert shown.startswith(f"{path}:{line}: {message}"), shown
    assert fix in shown and "\n" not in shown
    assert caught.value.exit_code == 2


def test_config_prints_the_path_and_the_effective_settings(tmp_path):
    done = stacktui(tmp_path, "config")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"# {tmp_path / 'stacktui' / 'config.toml'} (not there: every setting below is the default)"
    assert 'restart = "r"  # default' in lines
    write(tmp_path, '[keys]\nrestart = "x"\n')
    done = stacktui(tmp_path, "config")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == f"# {tmp_path / 'stacktui' / 'config.toml'} (read)"
    assert 'restart = "x"' in done.stdout.splitlines()
    # What it prints is itself a file giving the same settings.
    again = parse_settings(done.stdout, tmp_path / "copy.toml")
    assert again.keymap() == load_settings(tmp_path / "stacktui" / "config.toml").keymap()


@pytest.mark.parametrize("command", [["config"], ["status"], ["check"], ["restart", "web"]])
def test_every_command_reads_the_file_and_a_bad_one_exits_2_with_one_line(tmp_path, command):
    path = write(tmp_path, 'theme = "nord"\n[keys]\nrestart = "s"\n')
    done = stacktui(tmp_path, *command)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == (f"stacktui: {path}:3: s is bound to both restart and share "
                           "(give share another key too, or choose another key for restart)\n")


def test_the_app_binds_every_action_once_at_its_default_key():
    from stacktui.ui.app import StackApp

    bindings = {b.id: normalize_keys(b.key) for b in StackApp.BINDINGS}
    assert bindings == {a.id: normalize_keys(a.key) for a in KEY_ACTIONS}
    assert len(ACTION_IDS) == len(set(ACTION_IDS)) == len(StackApp.BINDINGS)


def test_the_readme_shows_every_setting_with_its_default():
    readme = (ROOT / "README.md").read_text()
    assert example_toml() in readme
    shown = parse_settings(example_toml(), Path("README.md"))
    assert shown == Settings(path=Path("README.md"))


def test_the_themes_are_textuals():
    from textual.theme import BUILTIN_THEMES

    assert set(THEMES) == set(BUILTIN_THEMES)


def test_key_names_are_normalized_as_textual_does():
    from textual.keys import _normalize_key_list

    for char in string.printable.strip():
        if char == ",":
            continue  # the list separator
        assert normalize_keys(char) == _normalize_key_list(char), char
    for keys in ("ctrl+x", "f5", "question_mark,f1", "R"):
        assert normalize_keys(keys) == _normalize_key_list(keys)


def test_config_json_has_the_path_and_every_effective_key(tmp_path):
    import json

    write(tmp_path, 'log_since = "10m"\n[keys]\nsave = "f2"\n')
    done = stacktui(tmp_path, "config", "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["path"] == str(tmp_path / "stacktui" / "config.toml") and data["found"] is True
    assert data["log_since"] == "10m" and data["resource_refresh"] == 2.0
    assert data["keys"]["save"] == "f2" and data["keys"]["filter"] == "ampersand"
    assert set(data["keys"]) == set(ACTION_IDS)
