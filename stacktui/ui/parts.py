"""A part of the app: one concern (the live feed, the change flows, the files, self-heal, ...) as an
object with its own state, held by StackApp as a named field.

A part draws and notifies through the app it is given and runs its blocking calls as the app's
jobs (ui.background); the app's actions and message handlers hand over to it in one line.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from textual.message import Message

    from stacktui.ui.app import StackApp
    from stacktui.ui.background import Jobs


class Part:
    def __init__(self, app: "StackApp") -> None:
        self.app = app

    @property
    def jobs(self) -> "Jobs":
        return self.app.jobs

    def post(self, message: "Message") -> None:
        """To the app's queue, from any thread."""
        self.app.post_message(message)
