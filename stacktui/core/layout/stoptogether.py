"""Stop a Compose call's old containers together, once Compose has begun stopping the first.

`compose up --force-recreate` stops a namespace owner's joiners before it recreates the owner
and only then stops the owner: on `layout shared mcp-server --with vscode` the old mcp-server's
stop (0.23-0.31 s, most of it the engine releasing its published ports) came first and the old
vscode's (0.15-0.45 s) after it, both inside the window in which mcp-server's port answers
nobody. Every one of those containers is replaced by the call anyway; from the
moment Compose stops the first, waiting to stop the rest buys nothing. So: the engine's kill
events are watched while Compose runs, and at the first kill of one of the call's old
containers the others are stopped at once, each with its own stop timeout (what Compose would
use, read from the container). Compose's own stop of them then finds them stopped or stopping.

Nothing is stopped before Compose stops something itself: a call refused before it touches a
container leaves every container running.
"""
from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from stacktui.core.engine.client import ContainerInfo, Engine
from stacktui.core.loop import Loop

log = logging.getLogger(__name__)

DEFAULT_STOP = 10  # the engine's own default when a container names no StopTimeout
JOIN_WAIT = 5.0  # the watcher ends with the call; this only bounds a stuck close


class StopTogether:
    """A context around one Compose call: watches kill events, stops the rest at the first one."""

    def __init__(self, engine: Engine, project: str, containers: list[ContainerInfo], services: list[str]) -> None:
        self.engine = engine
        self.project = project
        self.ids = [c.id for c in containers if c.service in services and c.state in ("running", "restarting")]
        self.stopped: list[str] = []  # the ids stopped here (for the report and the tests)
        self._stream: Any = None
        self._loop: Loop | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._futures: list[Future[None]] = []

    def __enter__(self) -> "StopTogether":
        if len(self.ids) < 2:
            return self  # one container: Compose stops it first anyway
        try:
            # A stream of its own, not the engine's shared follower: it must be open before Compose runs.
            self._stream = self.engine.events(self.project, actions=["kill"])
        except Exception as exc:  # no events, no head start: Compose stops them as it always has
            log.info("stop-together: no events (%s); Compose stops the containers one by one", exc)
            return self
        self._pool = ThreadPoolExecutor(max_workers=len(self.ids), thread_name_prefix="stop-together")
        self._loop = Loop("stop-together", self._watch, unblock=self._close).start()
        return self

    def _watch(self) -> None:
        try:
            for event in self._stream:
                first = event.get("id") or (event.get("Actor") or {}).get("ID")
                if first in self.ids:
                    for cid in self.ids:
                        if cid != first and self._pool is not None:
                            self.stopped.append(cid)
                            self._futures.append(self._pool.submit(self._stop, cid))
                    return
        except Exception as exc:  # the stream broke or was closed: Compose goes on without the head start
            log.debug("stop-together: events ended: %s", exc)

    def _stop(self, cid: str) -> None:
        try:
            grace = (self.engine.inspect_raw(cid).get("Config") or {}).get("StopTimeout")
            self.engine.stop(cid, int(grace) if grace is not None else DEFAULT_STOP)
        except Exception as exc:  # removed or stopped by Compose meanwhile: what was wanted anyway
            log.debug("stop-together: %s not stopped here: %s", cid[:12], exc)

    def _close(self) -> None:
        if self._stream is not None:
            self._stream.close()

    def __exit__(self, *_exc: Any) -> None:
        if self._loop is not None:
            self._loop.stop(JOIN_WAIT)
        else:
            try:
                self._close()
            except Exception as exc:  # closing is best effort
                log.debug("stop-together: closing the events stream: %s", exc)
        if self._pool is not None:
            # Compose has returned: it stopped and removed them itself; these ended with its calls.
            for f in list(self._futures):
                try:
                    f.result(timeout=JOIN_WAIT)
                except Exception as exc:  # bounded wait; a stop still running ends on its own
                    log.debug("stop-together: a stop did not end in time: %s", exc)
            self._pool.shutdown(wait=False)
