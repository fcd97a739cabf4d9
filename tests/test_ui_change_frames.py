"""No false alarm while the TUI's own layout change runs: every frame of a `b` and a `u`, on the real engine.

The services a change recreates go down, start and become healthy again; what
must never show for them in between is an alarm that is only an artefact of the
change (the model still on the old file, checks racing the recreate): a stale
badge, an unhealthy verdict, or a stale/port finding. Each frame the app draws
is recorded (textual's post_display_hook) with the table's health and badge
cells and the findings panel's lines, from the first key to the settled state
after the dialog closed.
"""
from __future__ import annotations

from dataclasses import dataclass

from stacktui.core.compose.discovery import resolve_target
from stacktui.core.loader import load_project
from stacktui.ui.app import StackApp
from stacktui.ui.findings import finding_text
from stacktui.ui.modals import DiffModal
from tests.test_ui_acceptance import finish_modal, laid_out, select
from tests.test_ui_live import until
from tests.waiting import click_when_drawn, on_screen

ALARM_KINDS = ("stale", "port", "probe", "healthcheck")


@dataclass(frozen=True)
class Frame:
    screen: str  # the screen on top (the dialog, or the main screen)
    health: dict[str, str]  # service -> the health cell as drawn
    badge: dict[str, str]
    namespace: dict[str, str]
    findings: tuple[tuple[str, str, str], ...]  # (service, kind, the line as drawn)


class Frames:
    """Every frame the app displays, as the table and the findings panel read in it."""

    def __init__(self, app: StackApp) -> None:
        self.app = app
        self.frames: list[Frame] = []
        app.post_display_hook = self.record

    def record(self) -> None:
        app = self.app
        try:
            table, panel = app.table, app.findings_panel
        except Exception:  # before the main screen is up, or after it went
            return
        services = [s for s in (app.project.services if app.project else []) if table.status_of(s) is not None]
        self.frames.append(Frame(
            screen=type(app.screen).__name__,
            health={s: table.cell_text(s, "health") for s in services},
            badge={s: table.cell_text(s, "badge") for s in services},
            namespace={s: table.cell_text(s, "namespace") for s in services},
            findings=tuple((f.service or "", f.kind, finding_text(f).plain) for f in panel.findings),
        ))

    def alarms(self, services: set[str], since: int = 0) -> list[str]:
        out = []
        for i, frame in enumerate(self.frames[since:], start=since):
            for s in sorted(services):
                word = frame.health.get(s, "")
                if "stale" in word or "unhealthy" in word or "STALE" in frame.badge.get(s, ""):
                    out.append(f"frame {i} ({frame.screen}): {s} {word!r} {frame.badge.get(s, '').strip()}")
            for service, kind, line in frame.findings:
                if service in services and any(k in kind for k in ALARM_KINDS):
                    out.append(f"frame {i} ({frame.screen}): finding {line}")
        return out

    def switched_in_dialog(self, service: str, namespace: str, since: int) -> bool:
        """The table followed the new file while the change's dialog was still up."""
        return any(f.screen == "PlanModal" and f.namespace.get(service) == namespace for f in self.frames[since:])


def recreated(diff: DiffModal) -> set[str]:
    """The services the dialog says the change recreates."""
    line = next(ln for ln in diff.summary.splitlines() if ln.startswith("services recreated:"))
    return {s.strip() for s in line.partition(":")[2].split(",") if s.strip()}


async def change_and_settle(pilot, app: StackApp, key: str, namespace: str) -> set[str]:
    """Press key, apply the diff, close the dialog, and wait until the table and a check agree."""
    await pilot.press(key)
    diff = await until(pilot, lambda: on_screen(app, DiffModal) and laid_out(app.screen, "#diff-apply")
                       and app.screen, what="the diff modal with its buttons drawn")
    services = recreated(diff)
    await click_when_drawn(pilot, "#diff-apply")
    modal = await finish_modal(pilot, app)
    assert modal.outcome.ok, modal.outcome
    await pilot.press("enter")
    await until(pilot, lambda: app.busy is None and app.table.cell_text("mcp-server", "namespace") == namespace
                and all(app.table.cell_text(s, "health") == "\u2714 healthy" for s in services),
                timeout=60, what=f"every recreated service healthy, mcp-server {namespace}")
    checked = app.findings_panel.checked_at
    app.action_check()
    await until(pilot, lambda: app.findings_panel.checked_at != checked and not app.findings_panel.checking,
                timeout=30, what="a check after the change")
    await pilot.pause(0.5)
    return services


async def test_no_frame_of_a_split_or_its_undo_shows_a_false_alarm(demo_stack, engine):
    target = resolve_target([str(demo_stack.file)], cwd=demo_stack.dir)
    app = StackApp(load_project(target), engine, target=target, probe_interval=1.0)
    frames = Frames(app)
    async with app.run_test(size=(140, 40)) as pilot:
        await until(pilot, lambda: all(app.table.status_of(s) and app.table.cell_text(s, "health") == "\u2714 healthy"
                                       for s in app.project.services), timeout=60, what="a healthy stack")
        await until(pilot, lambda: app.findings_panel.checked_at is not None and not app.findings_panel.checking,
                    what="the first check")
        await select(pilot, app, "mcp-server")
        start = len(frames.frames)

        split = await change_and_settle(pilot, app, "b", "own")
        assert "mcp-server" in split
        after_split = len(frames.frames)
        assert after_split - start > 10, "too few frames recorded to judge"
        assert frames.alarms(split, start) == [], "\n".join(frames.alarms(split, start))
        assert frames.switched_in_dialog("mcp-server", "own", start)

        await select(pilot, app, "mcp-server")
        undo = await change_and_settle(pilot, app, "u", "shares vscode")
        assert "mcp-server" in undo
        assert len(frames.frames) - after_split > 10, "too few frames recorded to judge"
        assert frames.alarms(undo, after_split) == [], "\n".join(frames.alarms(undo, after_split))
        assert frames.switched_in_dialog("mcp-server", "shares vscode", after_split)
    assert demo_stack.file.read_text().count('network_mode: "service:vscode"') == 1
