"""Headless measurements of the app on the real engine, one per child process.

    python -m bench.headless ingest   --service flood --marker "flood 00200000"
    python -m bench.headless backlog  --service flood --marker "flood 00200000"
    python -m bench.headless keys     --service flood --marker ... --trigger CONTAINER_ID
    python -m bench.headless reaction --service target --cycles 10

Run in the stack's folder (the app finds the project the way `stacktui` does). Prints one
JSON object on stdout. A child process of its own keeps the resident-memory figures clean
and lets the parent kill a hung run at its deadline.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import queue
import random
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from bench import appdriver as ad

ROOT = Path(__file__).resolve().parent.parent
STARTED = time.perf_counter()  # this child's imports began: the app's process start, near enough

SIZE = (120, 40)


async def _open(args: argparse.Namespace, tui_args: list[str] | None = None) -> tuple[Any, str]:
    ctx, parsed = ad.build_context(tui_args)
    if args.need_pane and not ad.app_has_log_pane():
        return ad.standin_app(ctx), "stand-in"
    return ad.build_app(ctx, parsed), "app"


async def _session(app: Any, body: Any) -> dict[str, Any]:
    """Run body(pilot, out) in the headless app; what it measured survives an error on the way out.

    An app that raises while shutting down (a timer firing on a torn-down screen, say) has still
    been measured: the figures are kept and the error goes with them, for the row's note.
    """
    out: dict[str, Any] = {}
    try:
        async with app.run_test(size=SIZE) as pilot:
            await body(pilot, out)
            out["done"] = True
    except Exception as exc:
        if not out.pop("done", False):
            raise
        out["app_error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"
    out.pop("done", None)
    return out


def app_error_note(result: dict[str, Any]) -> str:
    """For a row's note: the app raised while the bench ran it (its figures were still taken)."""
    return f"; the app raised: {result['app_error']}" if result.get("app_error") else ""


async def _wait_rows(app: Any, service: str, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        table = ad.services_table(app)
        if table is not None and ad.row_text(table, service):
            return table
        await asyncio.sleep(0.02)
    raise TimeoutError(f"the table never showed a row for {service!r}")


async def _open_logs(app: Any, pilot: Any, table: Any, service: str) -> float:
    ad.select_row(app, table, service)
    await pilot.pause()
    t0 = time.perf_counter()
    await pilot.press(ad.OPEN_LOGS_KEY)
    return t0


def _marker_on_screen(app: Any, marker: str) -> bool:
    pane = ad.log_pane(app)
    tail = ad.pane_tail(pane) if pane is not None else ""
    # Cheap test on the widget first when it exposes its lines; the screen decides.
    if pane is not None and getattr(pane, "lines", None) is not None and marker not in tail:
        return False
    return marker in ad.screen_text(app)


async def _wait_marker(app: Any, clock: ad.FrameClock, marker: str, timeout: float) -> tuple[float, float] | None:
    """(perf_counter, wall time) of the first frame displayed with marker on the screen.

    Judged in the frame hook itself: a poll that sees the marker only learns that some past
    frame showed it, and the next frame of an app that has nothing more to draw may be a
    second away (its clock tick), which would be counted as the log's delay.
    """
    if not _marker_on_screen(app, marker):
        return await clock.first_frame_where(lambda: _marker_on_screen(app, marker), timeout=timeout)
    # Already there before the hook could watch for it: the next frame is the first one known.
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if _marker_on_screen(app, marker):
            hit = await clock.first_frame_where(lambda: True, timeout=2.0)
            return hit if hit else (time.perf_counter(), time.time())
        await asyncio.sleep(0.01)
    return None


async def _trigger(container_id: str) -> float:
    """Start the flood (the container waits for /go); perf_counter when the exec returned."""
    proc = await asyncio.create_subprocess_exec("docker", "exec", container_id, "touch", "/go")
    await asyncio.wait_for(proc.wait(), 30)
    return time.perf_counter()


async def _pane_open(app: Any, pilot: Any, service: str) -> tuple[Any, Any, int]:
    """The service's logs open in the pane and settled: the frame clock, the table, RSS before."""
    clock = ad.FrameClock(app)
    table = await _wait_rows(app, service, 30)
    await _open_logs(app, pilot, table, service)
    await pilot.pause(0.5)
    return clock, table, ad.rss_bytes()


async def ingest(args: argparse.Namespace) -> dict[str, Any]:
    """The pane open on an idle container, then a live flood: trigger to last line on screen."""
    app, kind = await _open(args)

    async def body(pilot: Any, out: dict[str, Any]) -> None:
        clock, table, rss0 = await _pane_open(app, pilot, args.service)
        t0 = await _trigger(args.trigger)
        t1 = await _wait_marker(app, clock, args.marker, args.timeout)
        # seconds: from the trigger's return (an underestimate by up to the container's 50 ms poll);
        # shown_at: wall clock, to set against the engine's timestamp of the first line.
        out.update({"kind": kind, "seconds": None if t1 is None else t1[0] - t0,
                    "shown_at": None if t1 is None else t1[1], "rss_before": rss0, "rss_after": ad.rss_bytes()})

    return await _session(app, body)


async def backlog(args: argparse.Namespace) -> dict[str, Any]:
    """A container's whole log, already written, into the app (`--log-history all`) and onto the screen.

    From the first frame with the table filled (the app starts following the containers right
    after it) to the first frame with the last line in the pane; the service's logs are opened
    with `l` as soon as the table shows it, so reading and opening overlap as they would for a user.

    The key goes through the app's message queue, as a terminal driver delivers it, and the frames
    are watched from before it: `pilot.press` waits for the process to look idle (textual's
    wait_for_idle, up to 1 s twice) and a reader thread busy with the backlog keeps it from looking
    so. A press that returned after the last line was drawn was timed at the next frame, the uptime
    tick up to 1 s later: 0.5x in two runs of three, 0.95x in the third.
    """
    from textual import events

    app, kind = await _open(args, ["--log-history", "all"])
    stored = _watch_store(app, args.service, args.marker)

    async def body(pilot: Any, out: dict[str, Any]) -> None:
        clock = ad.FrameClock(app)
        rss0 = ad.rss_bytes()
        table = await _wait_rows(app, args.service, 30)
        ad.select_row(app, table, args.service)
        watch = asyncio.ensure_future(clock.first_frame_where(lambda: _marker_on_screen(app, args.marker),
                                                              timeout=args.timeout))
        t0 = time.perf_counter()
        app.post_message(events.Key(ad.OPEN_LOGS_KEY, ad.OPEN_LOGS_KEY))
        t1 = await watch
        # Where the time went: the store's first line of the service (its reader began) and its last.
        since = {k: (v - t0 if v is not None else None) for k, v in stored.items()}
        out.update({"kind": kind, "seconds": None if t1 is None else t1[0] - t0,
                    "first_stored": since.get("first"), "last_stored": since.get("last"),
                    "started": t0 - STARTED, "rss_before": rss0, "rss_after": ad.rss_bytes()})

    return await _session(app, body)


def _watch_store(app: Any, service: str, marker: str) -> dict[str, float | None]:
    """perf_counter of the first line of `service` stored and of the line with `marker` (set as they come).

    The readers take the store's append when they start, after the first frame: wrapped here first.
    """
    seen: dict[str, float | None] = {"first": None, "last": None}
    store = getattr(app, "store", None)
    if store is None:
        return seen
    append = store.append

    def watched(svc: str, lines: list) -> Any:
        if svc == service and lines:
            now = time.perf_counter()
            if seen["first"] is None:
                seen["first"] = now
            if seen["last"] is None and marker in lines[-1].text:
                seen["last"] = now
        return append(svc, lines)

    store.append = watched
    return seen


async def keys(args: argparse.Namespace) -> dict[str, Any]:
    app, kind = await _open(args)
    from textual import events

    async def body(pilot: Any, out: dict[str, Any]) -> None:
        clock, table, rss0 = await _pane_open(app, pilot, args.service)
        first = ad.row_index(table, args.service)
        other = 1 if first == 0 else first - 1
        ad.select_row(app, table, args.service)
        await pilot.pause()
        t_start = await _trigger(args.trigger) if args.trigger else time.perf_counter()
        samples: list[float] = []
        missed = 0
        done_at: float | None = None
        deadline = t_start + args.timeout
        while time.perf_counter() < deadline:
            # Alternate between two rows: every press has a visible effect (the cursor moves).
            # Pressed through the app's message queue, as a terminal driver would deliver it.
            target = other if table.cursor_row == first else first
            key = "down" if target > table.cursor_row else "up"
            t0 = time.perf_counter()
            app.post_message(events.Key(key, None))
            hit = await clock.first_frame_where(lambda: table.cursor_row == target, timeout=5.0)
            if hit is None:
                missed += 1
            else:
                samples.append(hit[0] - t0)
            if not args.trigger and len(samples) + missed >= args.presses:
                break
            if args.trigger and done_at is None and _marker_on_screen(app, args.marker):
                done_at = time.perf_counter()
                break
            await asyncio.sleep(random.uniform(0.05, 0.15))
        if args.trigger and done_at is None:
            t1 = await _wait_marker(app, clock, args.marker, max(0.0, deadline - time.perf_counter()))
            done_at = t1[0] if t1 else None
        out.update({"kind": kind, "samples": samples, "missed": missed, "rss_before": rss0,
                    "rss_after": ad.rss_bytes(), "flood_seconds": None if done_at is None else done_at - t_start})

    return await _session(app, body)


Events = "queue.Queue[tuple[str, str, float, float]]"


def _events_thread(project: str, out: Any, stop: threading.Event) -> Any:
    import docker

    client = docker.from_env(timeout=30)
    stream = client.api.events(decode=True, filters={"type": ["container"], "event": ["die", "start"],
                                                     "label": [f"com.docker.compose.project={project}"]})

    def pump() -> None:
        try:
            for ev in stream:
                got = time.time()
                out.put((ev.get("Action") or ev.get("status") or "", ev.get("id") or "", ev["timeNano"] / 1e9, got))
                if stop.is_set():
                    break
        except Exception:
            pass

    threading.Thread(target=pump, daemon=True).start()
    return client, stream


async def _event(q: Any, action: str, cid: str, timeout: float, delivery: list[float]) -> float:
    """The engine's time of the next `action` event of container cid; its delivery delay noted."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            act, ident, when, got = q.get_nowait()
        except queue.Empty:
            await asyncio.sleep(0.005)
            continue
        if act == action and ident == cid:
            delivery.append(max(0.0, got - when))
            return when
    raise TimeoutError(f"the engine never reported {action} for {cid[:12]}")


async def reaction(args: argparse.Namespace) -> dict[str, Any]:
    app, kind = await _open(args)
    samples: dict[str, list[float | None]] = {"die": [], "start": []}
    delivery: list[float] = []

    async def body(pilot: Any, out: dict[str, Any]) -> None:
        out.update({"kind": kind, "samples": samples, "delivery": delivery})
        clock = ad.FrameClock(app)
        table = await _wait_rows(app, args.service, 30)
        project = app.project.name
        cid = next(c.id for c in app.engine.project_containers(project) if c.service == args.service)
        q: Any = queue.Queue()
        stop = threading.Event()
        client, stream = _events_thread(project, q, stop)
        await pilot.pause(0.3)
        try:
            for _ in range(args.cycles):
                for action, call, shows in (("die", client.api.kill, "exited"), ("start", client.api.start, "running")):
                    if action == "start" and samples["die"][-1] is None:
                        # The table never showed the death, so "running" would be the stale row.
                        await asyncio.to_thread(call, cid)
                        await _event(q, action, cid, 30, delivery)
                        samples[action].append(None)
                        continue
                    # Watch frames before the call: the SDK call returns only after the engine's
                    # cleanup, often after the app has already drawn the change.
                    watch = asyncio.ensure_future(clock.first_frame_where(
                        lambda shows=shows: shows in ad.row_text(table, args.service)
                        and not (shows == "running" and "exited" in ad.row_text(table, args.service)),
                        timeout=args.deadline + 30))
                    await asyncio.to_thread(call, cid)
                    when = await _event(q, action, cid, 30, delivery)
                    hit = await watch
                    samples[action].append(None if hit is None else max(0.0, hit[1] - when))
                    await pilot.pause(0.2)
                if all(s is None for s in samples["die"][:2]) and len(samples["die"]) >= 2:
                    break  # the app does not react at all; more cycles only cost time
        finally:
            stop.set()
            stream.close()
            client.close()
    return await _session(app, body)


def run_child(mode: str, cwd: Path, *args: str, timeout: float) -> dict[str, Any]:
    """Run one measurement in a child process (in the stack's folder); its JSON result."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    try:
        done = subprocess.run([sys.executable, "-m", "bench.headless", mode, *args], cwd=cwd, env=env,
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise TimeoutError(f"headless {mode} did not finish within {timeout:.0f} s") from exc
    if done.returncode != 0:
        raise RuntimeError(f"headless {mode} failed: {done.stderr.strip()[-1500:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="bench.headless")
    p.add_argument("mode", choices=["ingest", "backlog", "keys", "reaction"])
    p.add_argument("--service", required=True)
    p.add_argument("--marker", default="")
    p.add_argument("--trigger", default="")
    p.add_argument("--timeout", type=float, default=120.0)
    p.add_argument("--cycles", type=int, default=10)
    p.add_argument("--presses", type=int, default=30, help="keys mode without --trigger: presses on a quiet pane")
    p.add_argument("--deadline", type=float, default=3.0)
    args = p.parse_args(argv)
    args.need_pane = args.mode in ("ingest", "backlog", "keys")
    result = asyncio.run({"ingest": ingest, "backlog": backlog, "keys": keys, "reaction": reaction}[args.mode](args))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
