"""The engine's log stream on the wire: the request, the 8-byte frame parser, and one read loop.

The fast path talks to the engine's unix socket directly: one HTTP/1.0 request
to the logs endpoint (HTTP/1.0, so the engine sends no chunked encoding and
closes the connection at the end), 1 MB reads, and a parser for the engine's
8-byte frame headers (stream, size) that copes with frames split across reads.
Measured here it reads ~177k lines/s where docker-py and httpx manage ~80k
(see shared notes, engine.md). Engines not on a unix socket go through
`Engine.log_stream` (docker-py) and the same decoder.

Each log entry carries the engine's timestamp (`timestamps=1`); the decoder
drops entries a reattached stream replays (same timestamp, counted), so a
follower that resumes with `since=` neither loses nor repeats lines.
"""
from __future__ import annotations

import calendar
import socket
import struct
import time
from datetime import datetime
from typing import Any, Callable

from stacktui.core.engine import rawhttp
from stacktui.core.engine.loglines import STDERR, STDOUT, TTY, LogLine
from stacktui.core.sanitize import _SUSPECT, STORE_LIMIT, sanitize




READ_SIZE = 1 << 20
# The engine writes every entry separately, so a reader that is keeping up gets ~200 bytes
# per recv: one syscall per line or two. After a short read, a pause lets lines pile up in the
# socket, but only a little: the engine can have just ~278 entries (24 KB) in flight on a unix
# socket (its send buffer counts each small write as ~768 bytes), so a read that comes later
# finds it stalled. Only a read under SMALL_READ says the engine is trickling, not flooding;
# a flood's reads are larger and follow one another at once. (Pausing 1 ms after any read under
# 64 KB, i.e. after every read, stalled live floods to 278 lines per pause. A 50k-line backlog
# now reads in 0.24-0.33 s instead of 0.37-0.56 s, same CPU.) A quiet stream gains 0.5 ms.
SMALL_READ = 4096
READ_PAUSE = 0.0005
# A follower starts with a small buffer and takes the large one only when a read fills it (a
# backlog or a flood): one 1 MB buffer per followed container was 1 MB resident each for good,
# 4 MB of an idle demo stack's 63 MB. Back to small after SHRINK_AFTER short reads in a row.
FIRST_READ_SIZE = 64 << 10
SHRINK_AFTER = 200
CONNECT_TIMEOUT = 5.0
_HEADER = struct.Struct(">BxxxL")
# docker-py's stream does not say whether a chunk came from stdout or stderr: no one stream's
# order can be relied on, so nothing from it is taken for a replay (EntryDecoder.stream_last).
MIXED_STREAMS = 255
_MAX_PARTIAL = STORE_LIMIT * 4  # bytes of one unterminated line kept; the rest of it is dropped


class ContainerGone(Exception):
    """The engine does not know the container any more (removed or recreated)."""


# --- timestamps -------------------------------------------------------------------------------

_seconds_cache: dict[bytes, int] = {}


def timestamp_ns(ts: bytes) -> int:
    """An engine timestamp (RFC 3339, nanoseconds, UTC 'Z') as integer nanoseconds since the epoch.

    Entries of one second share the seconds part, so it is parsed once and cached.
    """
    head = ts[:19]
    sec = _seconds_cache.get(head)
    if sec is None:
        try:
            sec = calendar.timegm(time.strptime(head.decode("ascii"), "%Y-%m-%dT%H:%M:%S"))
        except (ValueError, UnicodeDecodeError):
            return _timestamp_slow(ts)
        if len(_seconds_cache) > 4096:
            _seconds_cache.clear()
        _seconds_cache[head] = sec
    if ts.endswith(b"Z"):
        frac = ts[20:-1] if len(ts) > 20 and ts[19:20] == b"." else b""
        nanos = int(frac[:9].ljust(9, b"0")) if frac else 0
        return sec * 1_000_000_000 + nanos
    return _timestamp_slow(ts)


def _timestamp_slow(ts: bytes) -> int:
    """Offsets other than Z, or something unexpected: best effort, never raises."""
    text = ts.decode("ascii", "replace")
    head, _, rest = text.partition(".")
    count = 0
    while count < len(rest) and rest[count].isdigit():
        count += 1
    digits, tail = rest[:count], rest[count:]
    try:
        stamp = datetime.fromisoformat(head + (tail.replace("Z", "+00:00") or "+00:00"))
    except ValueError:
        return time.time_ns()
    return int(stamp.timestamp()) * 1_000_000_000 + int(digits[:9].ljust(9, "0"))


def since_param(key: int) -> str:
    """`since=` for the logs endpoint: seconds.nanoseconds."""
    return f"{key // 1_000_000_000}.{key % 1_000_000_000:09d}"


# --- decoding a stream into lines ----------------------------------------------------------------

class EntryDecoder:
    """Engine log entries ("<timestamp> <message>") into LogLines, deduplicated across reattaches.

    Without a TTY every frame is one entry; an entry without a trailing newline is
    part of a longer line (the engine splits lines of 16 KiB) and is joined to
    the next. With a TTY the stream is raw bytes, split into lines here.
    """

    def __init__(self, service: str) -> None:
        self.service = service
        self.last_key = -1  # the newest timestamp accepted
        self.at_last_key = 0  # how many accepted lines carry exactly that timestamp
        self._since: int | None = None  # after a reattach: the `since=` the engine was given
        self._skip_same = 0  # ... and how many entries at exactly that time we already have
        # The newest time seen on each stream (0 TTY, 1 stdout, 2 stderr). One stream's times only
        # go forward, but the engine (20.10's json-file) replays part of a log file it has just
        # rotated into a follow stream: tens of thousands of lines seen twice in a flood.
        self.stream_last = [-1] * 256  # indexed by the frame's stream byte, whatever it says
        self._same = [0, 0, 0]  # lines seen at exactly stream_last, when _same_at says it is counted
        self._same_at = [-1, -1, -1]
        self._skip = [0, 0, 0]  # during a replay: lines at _skip_at still to drop
        self._skip_at = [-1, -1, -1]
        self._partial: dict[int, bytearray] = {}
        self._partial_key: dict[int, int] = {}
        self._raw = bytearray()  # TTY: bytes after the last newline

    def reattached(self) -> None:
        """The next entries start again at `since=last_key`: drop the ones already taken.

        Only then are lines filtered by the newest time overall. In one continuous stream an
        entry earlier than its predecessor is new when it is on the other stream (the engine
        stamps stdout and stderr in separate readers, so the two interleave slightly out of
        order); on its own stream it is a replay (see stream_last).
        """
        if self.last_key >= 0:
            self._since = self.last_key
            self._skip_same = self.at_last_key
        self._partial.clear()
        self._partial_key.clear()
        self._raw.clear()

    def _replayed(self, stream: int, key: int) -> bool:
        """Whether a stamped entry repeats its stream's past (a replay); records it when it does not.

        The fast path in split_frames records only stream_last: it takes a line only when it is
        newer than its stream's last one, so one line at that time is what it saw.
        """
        last = self.stream_last[stream]
        same = self._same[stream] if self._same_at[stream] == last else 1
        if key < last:
            self._skip[stream], self._skip_at[stream] = same, last  # a replay: its lines at `last` were seen
            return True
        if key == last:
            if self._skip_at[stream] == last and self._skip[stream] > 0:
                self._skip[stream] -= 1
                return True
            self._same[stream], self._same_at[stream] = same + 1, last
            return False
        self.stream_last[stream] = key
        self._same[stream], self._same_at[stream] = 1, key
        return False

    def _accept(self, key: int) -> bool:
        since = self._since
        if since is not None:
            if key < since:
                return False
            if key == since and self._skip_same > 0:
                self._skip_same -= 1
                return False
            if key > since:
                self._since = None
        if key > self.last_key:
            self.last_key = key
            self.at_last_key = 1
        elif key == self.last_key:
            self.at_last_key += 1
        return True

    def entry(self, stream: int, payload: bytes, out: list[LogLine]) -> None:
        """One framed entry (non-TTY)."""
        space = payload.find(b" ", 0, 40)
        if space < 0:  # no timestamp: should not happen with timestamps=1; keep the text anyway
            key, message = self.last_key if self.last_key > 0 else time.time_ns(), payload
            stamped = False
        else:
            key, message = timestamp_ns(payload[:space]), payload[space + 1:]
            stamped = 0 <= stream <= 2
        if message.endswith(b"\n"):
            partial = self._partial.pop(stream, None)
            if partial is not None:
                # The completing entry's time orders and deduplicates the joined line.
                self._partial_key.pop(stream, None)
                if len(partial) < _MAX_PARTIAL:
                    partial += message[:-1]
                message = bytes(partial)
            else:
                message = message[:-1]
            if stamped and self._replayed(stream, key):
                return
            if self._accept(key):
                out.append(LogLine(self.service, key, sanitize(message), STDERR if stream == 2 else STDOUT))
            return
        partial = self._partial.get(stream)
        if partial is None:
            self._partial[stream] = bytearray(message[:_MAX_PARTIAL])
            self._partial_key[stream] = key
        elif len(partial) < _MAX_PARTIAL:
            partial += message[:_MAX_PARTIAL - len(partial)]

    def raw(self, data: bytes, out: list[LogLine]) -> None:
        """TTY output: raw bytes, each entry still prefixed with its timestamp."""
        buf = self._raw
        buf += data
        start = 0
        while True:
            nl = buf.find(b"\n", start)
            if nl < 0:
                break
            self._raw_line(bytes(buf[start:nl]), out)
            start = nl + 1
        del buf[:start]
        if len(buf) > _MAX_PARTIAL:  # a line that never ends: show what we have
            self._raw_line(bytes(buf), out)
            buf.clear()

    def _raw_line(self, line: bytes, out: list[LogLine]) -> None:
        space = line.find(b" ", 0, 40)
        key = timestamp_ns(line[:space]) if space > 0 and line[:4].isdigit() else -1
        message = line[space + 1:] if key >= 0 else line
        if key < 0:
            key = self.last_key if self.last_key > 0 else time.time_ns()
        elif self._replayed(0, key):
            return
        if self._accept(key):
            out.append(LogLine(self.service, key, sanitize(message.rstrip(b"\r")), TTY))

    def flush(self, out: list[LogLine]) -> None:
        """At the end of a stream: an unterminated last line is still a line."""
        for stream, partial in list(self._partial.items()):
            key = self._partial_key.get(stream, self.last_key)
            if partial and self._accept(key):
                out.append(LogLine(self.service, key, sanitize(bytes(partial)), STDERR if stream == 2 else STDOUT))
        self._partial.clear()
        self._partial_key.clear()
        if self._raw:
            self._raw_line(bytes(self._raw), out)
            self._raw.clear()


def split_frames(data: bytes, decoder: EntryDecoder, out: list[LogLine]) -> bytes:
    """Decode every complete 8-byte-header frame in `data`; return the bytes of a split last one.

    This loop runs once per log line, so the usual entry (a fixed-width timestamp, one
    whole line, nothing pending, no reattach filter) is handled inline with locals only;
    anything else goes through `EntryDecoder.entry`.
    """
    pos = 0
    size_all = len(data)
    unpack = _HEADER.unpack_from
    entry = decoder.entry
    partial = decoder._partial
    cache = _seconds_cache
    suspect = _SUSPECT.search
    service = decoder.service
    stream_last = decoder.stream_last
    append = out.append
    new = tuple.__new__  # LogLine without its Python-level __new__: a third of the cost
    head_prev = b""
    base = 0
    limit = STORE_LIMIT
    last, same = decoder.last_key, decoder.at_last_key
    plain = decoder._since is None
    while size_all - pos >= 8:
        stream, size = unpack(data, pos)
        start = pos + 8
        end = start + size
        if end > size_all:
            break
        pos = end
        # "2024-05-01T12:34:56.123456789Z <message>\n": the engine's RFC3339NanoFixed, always 30 bytes.
        if plain and 31 < size < limit and data[end - 1] == 10 and data[start + 29] == 90 and not partial:
            head = data[start:start + 19]
            if head != head_prev:
                sec = cache.get(head)
                if sec is None:
                    timestamp_ns(data[start:start + 30])  # parses and caches the second
                    sec = cache.get(head)
                if sec is not None:
                    head_prev, base = head, sec * 1_000_000_000
            if head == head_prev:
                key = base + int(data[start + 20:start + 29])
                # Newer than this stream's last line: new. Anything else may be a replay (see
                # EntryDecoder.stream_last) and takes the careful path below.
                if key > stream_last[stream]:
                    stream_last[stream] = key
                    if key > last:
                        last, same = key, 1
                    elif key == last:
                        same += 1
                    text = data[start + 31:end - 1].decode("utf-8", "replace")
                    # Every character sanitize looks for is one str.isprintable() refuses, and it is
                    # 4x quicker than the search: only lines it refuses (tabs too) are searched.
                    if not text.isprintable() and suspect(text) is not None:
                        text = sanitize(text)
                    append(new(LogLine, (service, key, text, STDERR if stream == 2 else STDOUT)))
                    continue
        decoder.last_key, decoder.at_last_key = last, same
        entry(stream, data[start:end], out)
        last, same = decoder.last_key, decoder.at_last_key
        plain = decoder._since is None
    decoder.last_key, decoder.at_last_key = last, same
    return data[pos:] if pos else data


# --- the unix-socket request --------------------------------------------------------------------

def open_logs(socket_path: str, container_id: str, *, follow: bool = True, since: int | None = None,
              tail: int | str = "all", timeout: float = CONNECT_TIMEOUT) -> tuple[socket.socket, bytes, str]:
    """Send the logs request; returns the socket, body bytes already read, and the content type.

    Raises ContainerGone for 404 and rawhttp.EngineGone when the engine cannot be reached.
    API 1.41 calls both stream kinds "raw-stream": whether frames are multiplexed is the
    container's TTY setting, which the caller knows from inspect.
    """
    query = f"stdout=1&stderr=1&timestamps=1&follow={int(follow)}&tail={tail}"
    if since is not None:
        query += f"&since={since_param(since)}"
    sock, response = rawhttp.request(socket_path, f"/containers/{container_id}/logs?{query}", timeout=timeout)
    try:
        if response.status == 404:
            raise ContainerGone(f"no such container: {container_id[:12]}")
        rawhttp.expect_ok(sock, response, f"logs of {container_id[:12]}")
        # A followed container may be quiet for hours; a one-shot read must end (the healer's worker
        # once stayed blocked after a failed restart of a joiner, most likely in such a read).
        sock.settimeout(None if follow else timeout)
        return sock, response.body, response.headers.get("content-type", "")
    except BaseException:
        sock.close()
        raise


# --- the one read loop -------------------------------------------------------------------------------

def pump(sock: socket.socket, body: bytes, multiplexed: bool, decoder: "EntryDecoder",
         sink: Callable[[list[LogLine]], Any]) -> None:
    """Read a logs response to its end, handing each batch of decoded lines to `sink`.

    One buffer serves every read: a fresh 1 MB per recv costs more than the parsing. It is
    small (FIRST_READ_SIZE) until a read fills it.
    A socket shut down from another thread (a follower being stopped) ends it too.
    """
    data = body
    scratch = bytearray(FIRST_READ_SIZE)
    view = memoryview(scratch)
    short = 0  # short reads in a row
    while True:
        out: list[LogLine] = []
        if multiplexed:
            data = split_frames(data, decoder, out)
        elif data:
            decoder.raw(data, out)
            data = b""
        if out:
            sink(out)
        try:
            got = sock.recv_into(scratch)
        except OSError:
            got = 0
        if not got:
            break
        data = data + view[:got] if data else bytes(view[:got])
        if got < SMALL_READ:
            short += 1
            if short >= SHRINK_AFTER and len(scratch) > FIRST_READ_SIZE:
                view.release()
                scratch = bytearray(FIRST_READ_SIZE)
                view = memoryview(scratch)
            time.sleep(READ_PAUSE)
        else:
            short = 0
            if got == len(scratch) and len(scratch) < READ_SIZE:
                view.release()
                scratch = bytearray(READ_SIZE)
                view = memoryview(scratch)
    out = []
    decoder.flush(out)
    if out:
        sink(out)


def is_multiplexed(tty: bool, content_type: str) -> bool:
    """API 1.41 calls both stream kinds "raw-stream": the container's TTY setting decides."""
    return not tty or content_type == "application/vnd.docker.multiplexed-stream"


def read_all_logs(socket_path: str, container_id: str, service: str = "", tail: int | str = "all",
                  tty: bool = False, since: int | None = None) -> list[LogLine]:
    """Everything a container has logged so far (no follow; `since` in ns): one-shot reads and benchmarks."""
    sock, data, kind = open_logs(socket_path, container_id, follow=False, tail=tail, since=since)
    out: list[LogLine] = []
    try:
        pump(sock, data, is_multiplexed(tty, kind), EntryDecoder(service), out.extend)
    finally:
        sock.close()
    return out
