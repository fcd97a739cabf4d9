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
from typing import TYPE_CHECKING, Any

from textual.message import Message

from stacktui.core.engine.loglines import EVENT, LogLine
from stacktui.core.sanitize import printable
from stacktui.core.durations import seconds
from stacktui.ui.background import job

if TYPE_CHECKING:
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


class HealToggle:
    """Mixed into StackApp: the `heal` action and the healer's life."""

    heal_on: bool = False
    healer: "ProjectHealer | None" = None
    hooks: "HookRunner | None" = None
    _heal_backoff: "Backoff | None" = None
    _heal_markers: "HealMarkers | None" = None

    def action_heal(self) -> None:
        self.set_heal(not self.heal_on)

    def start_hooks(self) -> None:
        """With hooks in config.toml and heal off: a healer that only reports, for them."""
        app: Any = self
        if app.settings.hooks and self.healer is None and app.project is not None and app.engine is not None \
                and app.live:
            self._start_healer(heal=False)

    def set_heal(self, on: bool, *, quiet: bool = False) -> bool:
        """Turn self-heal on or off; False when it cannot be on (nothing loaded, no engine)."""
        app: Any = self
        if on == self.heal_on:
            return True
        if on and (app.project is None or app.engine is None or not app.live):
            if not quiet:
                app.notify("self-heal needs the project loaded and an engine", severity="warning", timeout=6)
            return False
        self._stop_healer()
        if on or app.settings.hooks:
            self._start_healer(heal=on)
        self.heal_on = on
        app._draw_topbar()
        if not quiet:
            app.notify("stranded joiners are repaired as soon as their owner is back" if on
                       else "stranded joiners are shown, not repaired", title=f"self-heal {'on' if on else 'off'}",
                       timeout=4)
        return True

    def _start_healer(self, *, heal: bool) -> None:
        from stacktui.core.heal.backoff import Backoff
        from stacktui.core.heal.healer import ProjectHealer
        from stacktui.core.heal.markers import HealMarkers

        app: Any = self
        settings = app.settings
        if self._heal_backoff is None:
            self._heal_backoff = Backoff(first=settings.heal_backoff)
        if self.hooks is None and settings.hooks:
            from stacktui.core.heal.hooks import HookRunner

            self.hooks = HookRunner(settings.hooks, lambda text: app.post_message(HookSaid(text)))
        self._heal_markers = HealMarkers()
        # The table shows unhealthy services already: the healer checks them to restart them, or
        # for the hooks that want `unhealthy`.
        checks = heal and settings.heal_unhealthy or any("unhealthy" in h.on for h in settings.hooks)
        said = functools.partial(self._heal_said, healing=heal)
        self.healer = ProjectHealer(
            app.project, app.engine, said, heal=heal, target=app.target, backoff=self._heal_backoff,
            model=lambda: app.project, heal_unhealthy=heal and settings.heal_unhealthy, watcher=app.watcher,
            unhealthy_checks=settings.unhealthy_checks,
            check_interval=(settings.probe_interval or 5.0) if checks else None).start()

    def _stop_healer(self, *, closing: bool = False) -> None:
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
        self._join_healer(healer)

    @job("self-heal", project=False)
    def _join_healer(self, healer: "ProjectHealer") -> None:
        healer.join(120.0)

    # -- from the healer's threads ------------------------------------------------------------------

    def _heal_said(self, event: "HealEvent", *, healing: bool = True) -> None:
        from stacktui.core.heal import events as ev

        app: Any = self
        if self.hooks is not None:
            self.hooks(event)  # never waits: each hook runs on a thread of its own
        if not healing:
            return  # a healer that only reports, for the hooks: the table shows what it sees
        markers = self._heal_markers
        marker = markers.feed(event) if markers is not None else None
        if marker is not None:
            # Into the store like an engine event's marker: the pane draws it with the next flush.
            app.store.append(marker.service, [LogLine(marker.service, time.time_ns(), marker.text, EVENT)])
        if marker is not None or event.event == ev.HEAL_FAILED:
            app.post_message(HealSaid(event))

    def on_heal_said(self, message: HealSaid) -> None:
        from stacktui.core.heal import events as ev

        event = message.event
        if not self.heal_on:
            return
        app: Any = self
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

    def on_hook_said(self, message: HookSaid) -> None:
        app: Any = self
        app.notify(message.text, title="hook", severity="warning", timeout=10, markup=False)
