"""`H`: self-heal for the open project, from inside the TUI.

The same core healer `stacktui watch --heal` runs (core.heal.healer.ProjectHealer),
on a thread of its own beside the app's LiveStack, listening to the app's watcher (no second
event stream, no second listing): it hears the engine's events,
finds joiners stranded in a dead namespace and repairs them with the ordered,
gated restart plan, under the project's lock (so it waits for a plan of the
app's own). The app only starts and stops it and shows what it says: `heal on`
in the top bar, one marker line per heal action in the log pane (into the
store, as plain text, like the engine's event markers), and a notification.

While it is off nothing repairs: a stranded joiner shows as STALE in the
table and as a finding, as before. The backoff (an owner that keeps dying)
outlives a toggle, so turning heal off and on again cannot start a storm.

The user's hooks (`[[hooks]]` in config.toml, core.heal.hooks) run on the
healer's events while the TUI is open: with heal off and hooks configured, a
healer that only reports runs instead, so `stale`, `unhealthy` and
`engine_lost` still reach them. A failing hook is said in a notification,
once per failure streak.
"""
from __future__ import annotations

import functools
import time
from typing import TYPE_CHECKING

from textual.message import Message

from stacktui.core.engine.loglines import EVENT, LogLine
from stacktui.core.sanitize import printable
from stacktui.core.durations import seconds
from stacktui.ui.background import job
from stacktui.ui.parts import Part

if TYPE_CHECKING:
    from stacktui.core.compose.model import Project
    from stacktui.core.engine.client import Engine
    from stacktui.ui.app import StackApp
    # Imported when heal is first turned on, not on the way to the first frame.
    from stacktui.core.heal.backoff import Backoff
    from stacktui.core.heal.events import HealEvent
    from stacktui.core.heal.healer import ProjectHealer
    from stacktui.core.heal.hooks import HookRunner
    from stacktui.core.heal.markers import HealMarkers


class HealSaid(Message):
    """One HealEvent, from the healer's threads to the app's."""

    def __init__(self, event: "HealEvent") -> None:
        super().__init__()
        self.event = event


class HookSaid(Message):
    """A hook failed (said once per failure streak), from its thread to the app's."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


class HealToggle(Part):
    """The `heal` action and the healer's life."""

    def __init__(self, app: "StackApp") -> None:
        super().__init__(app)
        self.on = False
        self.healer: "ProjectHealer | None" = None
        self.hooks: "HookRunner | None" = None
        self._backoff: "Backoff | None" = None  # kept across toggles: heal off and on cannot start a storm
        self._markers: "HealMarkers | None" = None

    def toggle(self) -> None:
        self.set(not self.on)

    def start_hooks(self) -> None:
        """With hooks in config.toml and heal off: a healer that only reports, for them."""
        app = self.app
        if app.settings.hooks and self.healer is None and app.project is not None and app.engine is not None \
                and app.live:
            self._start_healer(app.project, app.engine, heal=False)

    def set(self, on: bool, *, quiet: bool = False) -> bool:
        """Turn self-heal on or off; False when it cannot be on (nothing loaded, no engine)."""
        app = self.app
        if on == self.on:
            return True
        project, engine = app.project, app.engine
        if on and (project is None or engine is None or not app.live):
            if not quiet:
                app.notify("self-heal needs the project loaded and an engine", severity="warning", timeout=6)
            return False
        self.stop()
        if (on or app.settings.hooks) and project is not None and engine is not None:
            self._start_healer(project, engine, heal=on)
        self.on = on
        app.draw_topbar()
        if not quiet:
            app.notify("stranded joiners are repaired as soon as their owner is back" if on
                       else "stranded joiners are shown, not repaired", title=f"self-heal {'on' if on else 'off'}",
                       timeout=4)
        return True

    def _start_healer(self, project: "Project", engine: "Engine", *, heal: bool) -> None:
        from stacktui.core.heal.backoff import Backoff
        from stacktui.core.heal.healer import ProjectHealer
        from stacktui.core.heal.markers import HealMarkers

        app = self.app
        settings = app.settings
        if self._backoff is None:
            self._backoff = Backoff(first=settings.heal_backoff)
        if self.hooks is None and settings.hooks:
            from stacktui.core.heal.hooks import HookRunner

            self.hooks = HookRunner(settings.hooks, lambda text: self.post(HookSaid(text)))
        self._markers = HealMarkers()
        # The table shows unhealthy services already: the healer checks them to restart them, or
        # for the hooks that want `unhealthy`.
        checks = heal and settings.heal_unhealthy or any("unhealthy" in h.on for h in settings.hooks)
        said = functools.partial(self._said, healing=heal)

        def model() -> "Project":  # the model as the app holds it now (after an edit on disk)
            return app.project or project

        self.healer = ProjectHealer(
            project, engine, said, heal=heal, target=app.target, backoff=self._backoff,
            model=model, heal_unhealthy=heal and settings.heal_unhealthy, watcher=app.watcher,
            unhealthy_checks=settings.unhealthy_checks,
            check_interval=(settings.probe_interval or 5.0) if checks else None).start()

    def stop(self, *, closing: bool = False) -> None:
        """Stop asking; a step under way finishes on the healer's thread, and its watcher stops after it.
        Closing, the app waits half a second at most: the healer's thread is a daemon."""
        healer, self.healer = self.healer, None
        if closing and self.hooks is not None:
            self.hooks.close()
            self.hooks = None
        if healer is None:
            return
        healer.stop()
        if closing:
            healer.join(0.5)  # its wait ends at once on stop; a step under way is bounded by the join
            return
        self._join(healer)

    def leave(self) -> None:
        """The project is left: self-heal (or the healer that only reports, for the hooks) stops with it."""
        self.stop()
        self.on = False

    @job("self-heal", project=False)
    def _join(self, healer: "ProjectHealer") -> None:
        healer.join(120.0)

    # -- from the healer's threads ------------------------------------------------------------------

    def _said(self, event: "HealEvent", *, healing: bool = True) -> None:
        from stacktui.core.heal import events as ev

        if self.hooks is not None:
            self.hooks(event)  # never waits: each hook runs on a thread of its own
        if not healing:
            return  # a healer that only reports, for the hooks: the table shows what it sees
        markers = self._markers
        marker = markers.feed(event) if markers is not None else None
        if marker is not None:
            # Into the store like an engine event's marker: the pane draws it with the next flush.
            self.app.store.append(marker.service, [LogLine(marker.service, time.time_ns(), marker.text, EVENT)])
        if marker is not None or event.event == ev.HEAL_FAILED:
            self.post(HealSaid(event))

    def heal_said(self, message: HealSaid) -> None:
        from stacktui.core.heal import events as ev

        event = message.event
        if not self.on:
            return
        app = self.app
        what = event.service or event.owner or event.project
        # Reasons quote the engine and containers: never markup.
        if event.event == ev.HEAL_DONE:
            took = f" in {seconds(event.elapsed_s)}" if event.elapsed_s is not None else ""
            app.notify(f"{what} is back{took}", title="self-heal", timeout=5, markup=False)
        elif event.event == ev.BACKOFF:
            app.notify(printable(event.reason), title="self-heal: backing off", severity="warning", timeout=8,
                       markup=False)
        elif event.event == ev.HEAL_FAILED:
            app.notify(printable(event.reason), title=f"self-heal: {what} not repaired", severity="error",
                       timeout=10, markup=False)

    def hook_said(self, message: HookSaid) -> None:
        self.app.notify(message.text, title="hook", severity="warning", timeout=10, markup=False)
