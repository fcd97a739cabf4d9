"""Discovery finds the files and the name the way Compose does: checked against the real Compose CLI.

Each case builds a folder layout, then asks both stacktui (resolve_target +
load_project, which hands Compose explicit `-f` files) and Compose itself (with
the user's own arguments and working directory) for the project: name,
services and an interpolated value must agree.
"""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from stacktui.core.compose.cli import compose_command
from stacktui.core.compose.discovery import read_dotenv, resolve_target, search_upward
from stacktui.core.errors import ConfigError
from stacktui.core.loader import load_project

SERVICE = "services:\n  {name}:\n    image: {image}\n"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for var in list(os.environ):
        if var.startswith("COMPOSE_"):
            monkeypatch.delenv(var)
    return monkeypatch


def compose_says(cwd: Path, args: list[str]) -> dict:
    """What Compose itself makes of the user's arguments in that folder."""
    done = subprocess.run([*compose_command(), *args, "config", "--format", "json"], cwd=cwd,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip(), done.stderr
    return json.loads(done.stdout)


def stacktui_says(cwd: Path, monkeypatch: pytest.MonkeyPatch, **kw) -> tuple[list[Path], dict]:
    monkeypatch.chdir(cwd)
    target = resolve_target(**kw)
    project = load_project(target)
    services = {name: spec.image for name, spec in project.services.items()}
    return list(target.files), {"name": project.name, "services": services}


def summary(config: dict) -> dict:
    return {"name": config["name"], "services": {k: v.get("image") for k, v in config["services"].items()}}


def test_upward_search_takes_compose_order_and_any_override_beside_it(tmp_path, clean_env):
    root = tmp_path / "My_Proj"
    write(root / "docker-compose.yaml", SERVICE.format(name="loser", image="x"))
    write(root / "docker-compose.yml", SERVICE.format(name="legacy", image="x"))
    main = write(root / "compose.yaml", SERVICE.format(name="web", image="web:1"))
    # The override's name need not match the main file's: Compose takes the first override name found.
    override = write(root / "docker-compose.override.yaml", SERVICE.format(name="web", image="web:2"))
    deep = root / "src" / "deeper"
    deep.mkdir(parents=True)

    files, ours = stacktui_says(deep, clean_env)
    assert files == [main, override]
    assert ours == summary(compose_says(deep, [])) == {"name": "my_proj", "services": {"web": "web:2"}}


def test_docker_compose_yml_wins_over_yaml_as_in_compose(tmp_path):
    write(tmp_path / "docker-compose.yaml", SERVICE.format(name="a", image="x"))
    yml = write(tmp_path / "docker-compose.yml", SERVICE.format(name="b", image="x"))
    assert search_upward(tmp_path) == [yml]


def test_repeated_f_relative_to_cwd_and_p_wins(tmp_path, clean_env):
    base = write(tmp_path / "conf" / "base.yml", "name: fromfile\n" + SERVICE.format(name="api", image="api:1"))
    write(tmp_path / "conf" / "extra.yml", SERVICE.format(name="api", image="api:2") + "  db:\n    image: db:1\n")
    clean_env.setenv("COMPOSE_PROJECT_NAME", "fromenv")
    args = ["-f", "conf/base.yml", "-f", "conf/extra.yml", "-p", "explicit"]

    files, ours = stacktui_says(tmp_path, clean_env, files=["conf/base.yml", "conf/extra.yml"],
                                project_name="explicit")
    assert files == [base, tmp_path / "conf" / "extra.yml"]
    assert ours == summary(compose_says(tmp_path, args))
    assert ours["name"] == "explicit" and ours["services"] == {"api": "api:2", "db": "db:1"}


def test_compose_file_variable_with_its_separator(tmp_path, clean_env):
    a = write(tmp_path / "stack" / "a.yaml", SERVICE.format(name="one", image="one:1"))
    b = write(tmp_path / "stack" / "b.yaml", SERVICE.format(name="two", image="two:1"))
    write(tmp_path / "compose.yaml", SERVICE.format(name="ignored", image="x"))
    clean_env.setenv("COMPOSE_FILE", "stack/a.yaml|stack/b.yaml")  # relative to the current folder
    clean_env.setenv("COMPOSE_PATH_SEPARATOR", "|")

    files, ours = stacktui_says(tmp_path, clean_env)
    assert files == [a, b]
    assert ours == summary(compose_says(tmp_path, []))


def test_env_file_sets_compose_file_and_name_but_the_process_environment_wins(tmp_path, clean_env):
    write(tmp_path / "ops" / "stack.yaml", "name: fromfile\n" + SERVICE.format(name="svc", image="img:${TAG}"))
    write(tmp_path / ".env", "# comment\nexport COMPOSE_FILE=ops/stack.yaml\nCOMPOSE_PROJECT_NAME='dotenv'\n"
                             "TAG=fromdotenv # trailing comment\n")
    clean_env.setenv("TAG", "fromprocess")

    files, ours = stacktui_says(tmp_path, clean_env)
    assert files == [tmp_path / "ops" / "stack.yaml"]
    assert ours == summary(compose_says(tmp_path, []))
    assert ours == {"name": "dotenv", "services": {"svc": "img:fromprocess"}}


def test_top_level_name_beats_the_folder_name(tmp_path, clean_env):
    write(tmp_path / "folder" / "compose.yml", "name: named-in-yaml\n" + SERVICE.format(name="s", image="x"))
    _, ours = stacktui_says(tmp_path / "folder", clean_env)
    assert ours["name"] == "named-in-yaml" == compose_says(tmp_path / "folder", [])["name"]


def test_project_directory_steers_the_search_and_its_env(tmp_path, clean_env):
    proj = tmp_path / "proj"
    main = write(proj / "compose.yaml", SERVICE.format(name="svc", image="img:${TAG:-none}"))
    write(proj / ".env", "TAG=projdir\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    files, ours = stacktui_says(elsewhere, clean_env, project_directory="../proj")
    assert files == [main]
    assert ours == summary(compose_says(elsewhere, ["--project-directory", "../proj"]))
    assert ours["services"] == {"svc": "img:projdir"}


def test_a_subfolder_env_reaches_compose_as_it_would_without_f(tmp_path, clean_env):
    """Run from a subfolder, Compose reads that folder's .env first (its values win); stacktui hands them on."""
    write(tmp_path / "compose.yaml", SERVICE.format(name="svc", image="img:${TAG}"))
    write(tmp_path / ".env", "TAG=parent\n")
    sub = tmp_path / "sub"
    write(sub / ".env", "TAG=sub\nCOMPOSE_PROJECT_NAME=fromsub\n")

    _, ours = stacktui_says(sub, clean_env)
    assert ours == summary(compose_says(sub, []))
    assert ours == {"name": "fromsub", "services": {"svc": "img:sub"}}


def test_p_alone_without_any_file_attaches(tmp_path, clean_env):
    target = resolve_target(project_name="running-one", cwd=tmp_path)
    assert target.files == () and target.project_name == "running-one"
    clean_env.setenv("COMPOSE_PROJECT_NAME", "from-env")
    assert resolve_target(cwd=tmp_path).project_name == "from-env"


@pytest.mark.parametrize("kwargs, words", [
    ({}, ["no compose file", "-p NAME"]),
    ({"files": ["missing.yaml"]}, ["compose file not found", "missing.yaml"]),
    ({"files": ["-"]}, ["standard input"]),
    ({"project_name": "Bad Name"}, ["invalid project name"]),
])
def test_bad_input_is_one_clear_config_error(tmp_path, clean_env, kwargs, words):
    with pytest.raises(ConfigError) as err:
        resolve_target(cwd=tmp_path, **kwargs)
    for w in words:
        assert w in str(err.value)
    assert err.value.exit_code == 2


def test_dotenv_parser_reports_the_line_of_a_broken_entry(tmp_path):
    env = write(tmp_path / ".env", "A=1\nB='two words' \n C=\"x\" # c\nnot a valid line=\n")
    with pytest.raises(ConfigError) as err:
        read_dotenv(env)
    assert err.value.where is not None and err.value.where.line == 4
    write(env, "A=1\nB='two words' \n C=\"x\" # c\nD=plain # c\n")
    assert read_dotenv(env) == {"A": "1", "B": "two words", "C": "x", "D": "plain"}
