"""Which ports move when a chain's middle service is split off: from what listens, on the real engine.

compose/chain with its `x-stacktui.listens` taken out: gateway publishes 7001 (its own), 7002 (api's)
and 7003 (worker's); api joins gateway, worker joins api. Nothing declares whose a port is, so the
processes listening in the running containers must say; `x-stacktui.listens: []` says "nothing" when
the container cannot be seen; and the TUI's `b` asks with every port and who listens on it.
"""
from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Iterator

import pytest
from textual.widgets import SelectionList, Static

from stacktui.core.compose.discovery import resolve_target
from stacktui.core.loader import load_project
from stacktui.ui.app import StackApp
from stacktui.ui.modals import DiffModal, PortsModal
from tests.conftest import CHAIN_PORTS, Stack, make_stack
from tests.test_ui_acceptance import laid_out
from tests.waiting import click_when_drawn, on_screen, until, until_app


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory, demo_image: str) -> Iterator[Stack]:
    stack = make_stack(tmp_path_factory.mktemp("chain"), "chain", CHAIN_PORTS)
    text = stack.file.read_text()
    stack.file.write_text("".join(line for line in text.splitlines(keepends=True) if "listens:" not in line))
    try:
        stack.up()
        yield stack
    finally:
        stack.down()


def worker(stack: Stack, running: bool) -> None:
    if running:
        stack.compose("start", "worker")
    else:
        stack.compose("stop", "-t", "1", "worker")

    def up() -> bool:
        return "worker" in stack.compose("ps", "--services", "--status", "running").stdout.split()

    until(lambda: up() == running, what=f"worker {'running' if running else 'stopped'}")


def moved_lines(out: str) -> list[str]:
    return [ln for ln in out.splitlines() if ln.startswith(("+", "-")) and ":70" in ln and not ln.startswith(("+++", "---"))]


def test_splitting_the_middle_moves_the_ports_its_processes_listen_on(chain: Stack) -> None:
    worker(chain, True)
    done = chain.stacktui("layout", "separate", "api", "--dry-run")
    assert done.returncode == 0, done.stderr
    assert "dry run: separate api from gateway, taking worker along (ports 7002, 7003); nothing written" in done.stdout
    assert not any(":7001" in ln for ln in moved_lines(done.stdout))  # gateway's own port stays

    # gateway's own port, named by hand, is refused: gateway listens on it.
    taken = chain.stacktui("layout", "separate", "api", "--ports", "7001,7002", "--dry-run")
    assert taken.returncode == 2
    assert "port 7001 is gateway's: its processes listen on it now" in taken.stderr


def test_a_joiner_that_listens_on_nothing_is_not_a_question(chain: Stack) -> None:
    """The issue's chain: worker listens on no port and gateway publishes none for it."""
    text = chain.file.read_text()
    quiet = text.replace('["sh", "/scripts/serve.sh", "worker", "7003"]', '["sh", "-c", "trap exit TERM; '
                                                                          'while :; do sleep 1; done"]')
    quiet = quiet.replace('      - "127.0.0.1:${CHAIN_WORKER_PORT:-17003}:7003"\n', "")
    quiet = quiet.replace("http://127.0.0.1:7003/health", "http://127.0.0.1:7002/health")
    quiet = quiet.replace("      health: http://gateway:7003/health\n", "").replace("    x-stacktui:\n\n", "\n")
    chain.file.write_text(quiet)
    try:
        chain.up("worker")
        done = chain.stacktui("layout", "separate", "api", "--dry-run")
        assert done.returncode == 0, done.stderr
        assert "(ports 7002)" in done.stdout
    finally:
        chain.file.write_text(text)
        chain.up("worker")


@pytest.mark.parametrize("style", ["block", "flow"])
def test_listens_empty_says_nothing_when_the_container_cannot_be_seen(chain: Stack, style: str) -> None:
    text = chain.file.read_text()
    said = "    x-stacktui:\n      listens: []\n" if style == "block" else "    x-stacktui: {listens: []}\n"
    block = text.split("  worker:\n", 1)
    head, rest = block[0], block[1]
    rest = rest.replace("    x-stacktui:\n      health: http://gateway:7003/health\n", "", 1)
    cut = rest.index("\n  client:")
    chain.file.write_text(head + "  worker:\n" + rest[:cut].rstrip("\n") + "\n" + said + rest[cut:])
    worker(chain, False)  # not seen: only the declaration can say
    try:
        done = chain.stacktui("layout", "separate", "api", "--dry-run")
        assert done.returncode == 0, done.stderr
        assert "(ports 7002)" in done.stdout  # api's, seen; worker's, declared none
    finally:
        chain.file.write_text(text)
        worker(chain, True)


async def test_b_asks_with_every_port_and_who_listens_and_an_empty_choice_is_said(chain: Stack, engine) -> None:
    worker(chain, False)  # worker cannot be seen and declares nothing: b must ask
    target = resolve_target([str(chain.file)], cwd=chain.dir)
    app = StackApp(load_project(target), engine, target=target, probe_interval=2.0)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await until_app(pilot, lambda: app.table.status_of("api"), what="api in the table")
            app.table.move_cursor(row=list(app.project.services).index("api"))
            await pilot.pause()
            await pilot.press("b")
            ask = await until_app(pilot, lambda: on_screen(app, PortsModal) and laid_out(app.screen, "#ports-ok")
                                  and app.screen, what="the ports question, drawn")
            shown = [(c.port, c.who, c.ticked) for c in ask.choices]
            assert shown == [(7001, "gateway (listening now)", False), (7002, "api (listening now)", True),
                             (7003, "nobody known", False)]
            assert ask.query_one(SelectionList).selected == [7002]

            await pilot.press("down", "space")  # untick 7002: nothing chosen
            await click_when_drawn(pilot, "#ports-ok")
            await pilot.pause()
            assert app.screen is ask  # not closed without a word
            said = str(ask.query_one("#ports-said", Static).render())
            assert "no port chosen" in said and "none" in said

            await pilot.press("space", "tab")  # 7002 again, then the field for others
            await pilot.press(*"7003", "enter")
            diff = await until_app(pilot, lambda: on_screen(app, DiffModal) and laid_out(app.screen, "#diff-apply")
                                   and app.screen, what="the diff")
            moved = [ln for ln in diff.diff.splitlines() if ln.startswith("+") and ":700" in ln]
            assert any(":7002" in ln for ln in moved) and any(":7003" in ln for ln in moved), diff.diff
            assert not any(":7001" in ln for ln in moved)
            await pilot.press("escape")
            await until_app(pilot, lambda: app.busy is None, what="the diff closed")
    finally:
        await asyncio.to_thread(worker, chain, True)
