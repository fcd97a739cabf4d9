"""The user's own commands on the demo stack: an output command's text in the TUI's dialog (Pilot), on its
key, in the palette and in `?`; `stacktui run` with the command's exit code; a command past its time limit
stopped with what it started, on the host and in a container."""
from __future__ import annotations

import subprocess
from pathlib import Path

import psutil

from stacktui.core.settings import parse_settings
from stacktui.ui.outputdialog import OutputScreen
from tests.test_ui_everyday import live_app
from tests.waiting import on_screen, until, until_app
from tests.usercli import STACKTUI, cli_env

# A container's output that would drive a terminal (a clipboard write, colours) or restyle a widget.
HOSTILE_OUTPUT = r"printf '\033]52;c;aGk=\007\033[31m[red]x[/red]\n'"


def config(tmp_path: Path, text: str):
    return parse_settings(text, tmp_path / "config.toml")


def cli(stack, home: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = cli_env(XDG_CONFIG_HOME=str(home))
    return subprocess.run([*STACKTUI, *args], cwd=stack.dir, env=env, capture_output=True,
                          text=True, timeout=timeout)


def write_config(tmp_path: Path, text: str) -> Path:
    (tmp_path / "cfg" / "stacktui").mkdir(parents=True)
    (tmp_path / "cfg" / "stacktui" / "config.toml").write_text(text)
    return tmp_path / "cfg"


async def test_an_output_command_on_its_key_shows_its_text_in_a_dialog(module_demo_stack, engine, tmp_path):
    from textual.command import CommandList, CommandPalette

    from stacktui.ui.modals import HelpScreen

    run = r"echo in {service} of {project}, owner {owner}; tr '\0' ' ' < /proc/1/cmdline; echo; " + HOSTILE_OUTPUT
    settings = config(tmp_path, f"[[commands]]\nname = 'whoami'\nkey = 'P'\nservices = ['mcp-server']\n"
                                f"run = '''{run}'''\n")
    assert settings.problems == ()
    app = live_app(module_demo_stack, engine, settings)
    async with app.run_test(size=(140, 50)) as pilot:
        await until_app(pilot, lambda: app.table.status_of("mcp-server"), what="the table")
        await pilot.press("P")  # vscode is selected: not offered there
        await until_app(pilot, lambda: any("not on vscode" in n.message for n in app._notifications),
                        what="the command refused on vscode")
        assert not isinstance(app.screen, OutputScreen)
        await pilot.press("down", "P")
        await until_app(pilot, lambda: on_screen(app, OutputScreen) and app.screen.ended, what="the output")
        screen = app.screen
        assert screen.ended == "exit code 0"
        assert screen.lines[0] == f"in mcp-server of {module_demo_stack.name}, owner vscode"
        assert screen.lines[1].strip() == "sh /scripts/mcp-server.sh"  # PID 1 of mcp-server's own container
        assert screen.lines[2] == "[red]x[/red]"  # the sequences gone, the markup plain text
        await pilot.press("escape")
        await until_app(pilot, lambda: not isinstance(app.screen, OutputScreen), what="the dialog closed")

        await pilot.press("question_mark")
        await until_app(pilot, lambda: on_screen(app, HelpScreen), what="help")
        rows = dict((what.split(":")[0], key) for key, what in app.screen.keys)
        assert rows["whoami"] == "P"
        await pilot.press("escape")
        await pilot.press("ctrl+p")
        await until_app(pilot, lambda: on_screen(app, CommandPalette), what="the palette")
        await pilot.press(*"whoami")
        results = app.screen.query_one(CommandList)
        await until_app(pilot, lambda: results.option_count >= 1, what="the command in the palette")
        assert str(results.get_option_at_index(0).prompt).startswith("whoami (P)")


async def test_an_output_command_past_its_limit_is_stopped_with_what_it_started(module_demo_stack, engine,
                                                                                  tmp_path):
    pids = tmp_path / "pids"
    settings = config(tmp_path, f"""
[[commands]]
name = "hang"
host = "echo $$ > {pids}; sleep 300 & echo $! >> {pids}; echo started; wait"
timeout = 1
""")
    app = live_app(module_demo_stack, engine, settings)
    async with app.run_test(size=(140, 50)) as pilot:
        await until_app(pilot, lambda: app.table.status_of("vscode"), what="the table")
        await app.run_action("user_command(0)")
        await until_app(pilot, lambda: on_screen(app, OutputScreen) and app.screen.ended, what="the output")
        assert app.screen.ended == "stopped at its time limit, with what it started"
        assert app.screen.lines[0] == "started"
    shell, sleep = (int(p) for p in pids.read_text().split())
    for pid in (shell, sleep):  # killed as a group: the shell and the sleep it left in the background
        until(lambda: not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE,
              what=f"pid {pid} gone")


def test_stacktui_run_prints_the_output_and_ends_with_the_commands_exit_code(module_demo_stack, engine, tmp_path):
    home = write_config(tmp_path, """
[[commands]]
name = "check"
run = "echo {service} in {container}; exit 3"

[[commands]]
name = "port"
host = "echo port {port}"

[[commands]]
name = "hang"
run = "sleep 321"
timeout = 1
""")
    done = cli(module_demo_stack, home, "run", "check", "backend")
    assert done.returncode == 3, done.stderr
    assert done.stdout == f"backend in {module_demo_stack.name}-backend-1\n"
    done = cli(module_demo_stack, home, "run", "port", "mcp-server")  # a joiner's ports are its owner's
    assert done.stdout == f"port {module_demo_stack.ports['DEMO_VSCODE_PORT']}\n", done.stderr
    done = cli(module_demo_stack, home, "run", "hang", "backend")
    assert done.returncode == 1
    assert "did not finish within 1.00 s" in done.stdout and "it was stopped" in done.stdout
    backend = module_demo_stack.container(engine, "backend")
    code, ps = engine.exec(backend.id, ["ps"])
    assert code == 0 and "sleep 321" not in ps  # the command in the container was killed too
    done = cli(module_demo_stack, home, "run", "port")
    assert done.returncode == 2
    assert done.stderr == "stacktui: the command 'port' needs a service (name one: stacktui run port SERVICE)\n"


async def test_a_bad_entry_is_a_notification_and_left_out_the_good_ones_work(module_demo_stack, engine, tmp_path):
    path = tmp_path / "config.toml"
    settings = parse_settings("[[commands]]\nname = 'typo'\nkey = 'T'\nhost = 'echo {servise}'\n\n"
                              "[[commands]]\nname = 'fine'\nkey = 'F'\nhost = 'echo fine {project}'\n", path)
    app = live_app(module_demo_stack, engine, settings)
    async with app.run_test(size=(140, 50)) as pilot:
        await until_app(pilot, lambda: app.table.status_of("vscode"), what="the table")
        shown = [n.message for n in app._notifications]
        assert shown == [f"{path}:4: unknown placeholder {{servise}} in the command 'typo' (the placeholders are "
                         "{service}, {container}, {project}, {port}, {owner}; they are filled in quoted, so write "
                         "them without quotes; {{ and }} are literal braces); that entry is left out"]
        await pilot.press("T")  # left out: its key is not bound
        await pilot.press("F")
        await until_app(pilot, lambda: on_screen(app, OutputScreen) and app.screen.ended, what="the output")
        assert app.screen.lines == [f"fine {module_demo_stack.name}"]
        assert app.theme == "textual-dark" and settings.commands[0].name == "fine"
