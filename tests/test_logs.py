"""Log streams: the frame parser, reattaching without loss or repeats, and stopping on demand.

The parser tests feed bytes shaped exactly as the engine sends them; the rest
follow real containers on the real engine and compare with what the engine
itself has stored (`docker logs`).
"""
from __future__ import annotations

import struct
import subprocess
import threading
import time
import uuid
from datetime import datetime, timezone

import pytest

from stacktui.core.engine.loglines import EVENT, STDERR, STDOUT, TTY, LogLine
from stacktui.core.engine.logstream import (EntryDecoder, read_all_logs,
                                            since_param, split_frames, timestamp_ns)
from stacktui.core.live.logs import LogFollower
from tests.waiting import until


def ts(n: int) -> bytes:
    """The engine's fixed-width timestamp for second 1_700_000_000 + n // 1000, n ms."""
    sec, ms = divmod(n, 1000)
    stamp = datetime.fromtimestamp(1_700_000_000 + sec, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{stamp}.{ms:03d}000000Z".encode()


def frame(stream: int, payload: bytes) -> bytes:
    return struct.pack(">BxxxL", stream, len(payload)) + payload


def decode_chunks(chunks: list[bytes], decoder: EntryDecoder | None = None) -> list[LogLine]:
    decoder = decoder or EntryDecoder("svc")
    out: list[LogLine] = []
    rest = b""
    for chunk in chunks:
        rest = split_frames(rest + chunk, decoder, out)
    decoder.flush(out)
    assert rest == b""
    return out


def test_timestamps_become_nanoseconds_and_back_into_since():
    key = timestamp_ns(b"2023-11-14T22:13:20.123456789Z")
    assert key == 1_700_000_000_123_456_789
    assert since_param(key) == "1700000000.123456789"
    assert timestamp_ns(b"2023-11-14T22:13:20Z") == 1_700_000_000_000_000_000
    assert timestamp_ns(b"2023-11-15T00:13:20.5+02:00") == 1_700_000_000_500_000_000


def test_frames_split_at_any_byte_decode_to_the_same_lines():
    data = b"".join([
        frame(1, ts(1) + b" first line\n"),
        frame(2, ts(2) + b" an error\n"),
        frame(1, ts(3) + b" \x1b]0;title\x07third \xff\n"),
        frame(1, ts(4) + b" " + b"y" * 5000 + b"\n"),
    ])
    whole = decode_chunks([data])
    assert [(line.text[:12], line.stream) for line in whole] == [
        ("first line", STDOUT), ("an error", STDERR), ("third \ufffd", STDOUT), ("y" * 12, STDOUT)]
    for cut in range(1, len(data), 7):
        assert decode_chunks([data[:cut], data[cut:]]) == whole
    assert decode_chunks([data[i:i + 3] for i in range(0, len(data), 3)]) == whole


def test_the_fast_path_sanitizes_every_kind_of_character_sanitize_does():
    """Lines on the parser's fast path are checked with str.isprintable before the search: each kind
    of character sanitize changes (controls, C1, bidi and format marks, line separators) still is."""
    from stacktui.core.sanitize import sanitize

    texts = ["esc \x1b[31mred", "bidi \u202eevil\u202c", "sep \u2028 \u2029", "c1 \x85 \x9b", "del \x7f",
             "nul \x00 bell \x07", "alm \u061c lrm \u200e iso \u2066", "tab\tstays", "plain é 漢 🙂"]
    data = b"".join(frame(1, ts(i + 1) + b" " + t.encode() + b"\n") for i, t in enumerate(texts))
    got = [line.text for line in decode_chunks([data])]
    assert got == [sanitize(t.encode()) for t in texts]
    assert got[-2:] == ["tab\tstays", "plain é 漢 🙂"] and all("\x1b" not in t and "\u202e" not in t for t in got)

def test_a_line_the_engine_split_into_partial_entries_is_joined():
    data = frame(1, ts(1) + b" part one, ") + frame(2, ts(2) + b" other stream\n") + \
        frame(1, ts(3) + b" part two\n")
    lines = decode_chunks([data])
    assert [(line.text, line.stream) for line in lines] == [("other stream", STDERR), ("part one, part two", STDOUT)]


def test_reattaching_with_since_drops_exactly_what_was_already_seen():
    decoder = EntryDecoder("svc")
    first = frame(1, ts(1) + b" a\n") + frame(1, ts(2) + b" b\n") + frame(1, ts(2) + b" c (same time)\n")
    seen = decode_chunks([first], decoder)
    assert [line.text for line in seen] == ["a", "b", "c (same time)"]
    # The engine answers `since=<ts(2)>` with everything at or after that time, again.
    decoder.reattached()
    again = frame(1, ts(2) + b" b\n") + frame(1, ts(2) + b" c (same time)\n") + frame(1, ts(5) + b" d\n") + \
        frame(1, ts(5) + b" e (same time)\n")
    assert [line.text for line in decode_chunks([again], decoder)] == ["d", "e (same time)"]


def test_tty_output_is_raw_bytes_split_into_lines():
    decoder = EntryDecoder("svc")
    out: list[LogLine] = []
    decoder.raw(ts(1) + b" hello\r\n" + ts(2) + b" wor", out)
    decoder.raw(b"ld\r\n", out)
    assert [(line.text, line.stream) for line in out] == [("hello", TTY), ("world", TTY)]


# --- on the real engine -------------------------------------------------------------------------------

@pytest.fixture
def run_container(engine, demo_image):
    """Start throwaway containers (no network needed) and remove them afterwards."""
    made = []

    def run(script: str, tty: bool = False):
        c = engine.client.containers.run(demo_image, ["sh", "-c", script], detach=True, tty=tty,
                                         network_mode="none", labels={"stacktui-test": "logs"},
                                         name=f"stktui-logs-{uuid.uuid4().hex[:8]}", stop_signal="SIGKILL")
        made.append(c)
        return c

    yield run
    for c in made:
        try:
            c.remove(force=True)
        except Exception:
            pass


def cli_lines(container_id: str) -> list[str]:
    done = subprocess.run(["docker", "logs", container_id], capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.decode("utf-8", "replace").splitlines()


def _cli_stderr(container_id: str) -> list[str]:
    done = subprocess.run(["docker", "logs", container_id], capture_output=True, timeout=60)
    return done.stderr.decode("utf-8", "replace").splitlines()


def test_reading_a_containers_whole_log_matches_the_engine(engine, run_container):
    c = run_container('i=0; while [ $i -lt 3000 ]; do echo "out $i"; echo "err $i" >&2; i=$((i+1)); done; '
                      'printf "\\033]0;title\\007visible\\n"; sleep 600')
    sock = engine.socket_path
    # stdout and stderr are copied by separate readers in the engine: either may finish last.
    lines = until(lambda: (r := read_all_logs(sock, c.id, "x")) and len(r) == 6001 and r,
                     what="6001 lines written")
    outs = [line.text for line in lines if line.stream == STDOUT]
    errs = [line.text for line in lines if line.stream == STDERR]
    assert outs == [f"out {i}" for i in range(3000)] + ["visible"]
    assert errs == [f"err {i}" for i in range(3000)]
    keys = [line.key for line in lines if line.stream == STDOUT]
    assert keys == sorted(keys)


def test_a_follow_survives_restarts_without_losing_or_repeating_a_line(engine, run_container):
    # Every run of the container has its own tag, so equal text never means a repeat.
    c = run_container('tag=$(cat /proc/sys/kernel/random/uuid | cut -c1-8); i=0; '
                      'while :; do echo "$tag $i"; i=$((i+1)); sleep 0.01; done')
    got: list[LogLine] = []
    lock = threading.Lock()

    def sink(service: str, lines: list[LogLine]) -> None:
        with lock:
            got.extend(lines)

    follower = LogFollower(engine, "svc", c.id, sink, history="all").start()
    try:
        until(lambda: len(got) > 20, what="first lines")
        for _ in range(2):
            engine.restart(c.id, timeout=0)
            follower.poke()  # what the watcher does on the engine's start event
            before = len(got)
            until(lambda: len(got) > before + 20, what="lines after a restart")
        engine.stop(c.id, timeout=0)
        expected = cli_lines(c.id)
        until(lambda: len(got) >= len(expected), what="every stored line")
        with lock:
            texts = [line.text for line in got]
        assert follower.attaches == 3
        assert len({t.split()[0] for t in texts}) == 3  # three runs of the container
        assert texts == expected
    finally:
        follower.stop(wait=2)
    assert not follower.alive


def test_stop_from_another_thread_ends_a_quiet_follow_at_once(engine, run_container):
    c = run_container('echo ready; sleep 600')
    got: list[LogLine] = []
    follower = LogFollower(engine, "svc", c.id, lambda s, lines: got.extend(lines)).start()
    until(lambda: got, what="the first line")
    started = time.monotonic()
    follower.stop(wait=2)
    assert not follower.alive
    assert time.monotonic() - started < 1.5
    assert [line.text for line in got] == ["ready"]


def test_tty_containers_are_read_as_raw_bytes(engine, run_container):
    c = run_container('printf "one\\n\\033[2Jtwo\\n"; sleep 600', tty=True)
    got: list[LogLine] = []
    follower = LogFollower(engine, "svc", c.id, lambda s, lines: got.extend(lines)).start()
    try:
        until(lambda: len(got) >= 2, what="two lines")
    finally:
        follower.stop(wait=2)
    assert [(line.text, line.stream) for line in got] == [("one", TTY), ("two", TTY)]
    assert EVENT not in {line.stream for line in got}


def test_engines_off_the_unix_socket_are_followed_through_docker_py_the_same_way(engine, run_container):
    c = run_container('i=0; while [ $i -lt 500 ]; do echo "line $i"; echo "err $i" >&2; i=$((i+1)); done; '
                      'echo done; sleep 600')
    got: list[LogLine] = []
    follower = LogFollower(engine, "svc", c.id, lambda s, lines: got.extend(lines), history="all", fast=False).start()
    try:
        until(lambda: any(line.text == "done" for line in got), what="the last line")
        engine.restart(c.id, timeout=0)
        follower.poke()
        until(lambda: sum(line.text == "done" for line in got) == 2, what="the second run's last line")
        # stderr's last lines may come in after stdout's "done": every line the CLI shows is waited for.
        expected = sorted(cli_lines(c.id) + _cli_stderr(c.id))
        until(lambda: len(got) >= len(expected), what="every line the docker CLI shows")
    finally:
        follower.stop(wait=2)
    assert follower.socket_path is None and follower.attaches == 2
    assert sorted(line.text for line in got) == expected
