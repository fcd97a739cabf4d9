"""Log lines as the pane shows them: display text, the Meta that styles it, and the highlighter.

Stored lines (already sanitized by core: never markup, never terminal control)
become display strings here, with their prefix (timestamp, service name in the
merged view), cut to DISPLAY_LIMIT and wrapped when asked. How each is styled
is decided by its Meta, kept beside the string, so nothing in a container's own
text can make a line look like an engine event. No widget here: `logview` draws.
"""
from __future__ import annotations

import re
import time
from typing import NamedTuple, Sequence

from rich.cells import cell_len, chop_cells
from rich.highlighter import Highlighter
from rich.style import Style
from rich.text import Text

from stacktui.core.engine.loglines import EVENT, LogLine
from stacktui.core.sanitize import DISPLAY_LIMIT, for_display

TEXT, EVENT_LINE, CONTINUATION = 0, 1, 2
PALETTE = ["cyan", "magenta", "green", "yellow", "blue", "bright_red", "bright_cyan", "bright_magenta",
           "bright_green", "bright_blue"]
TIMESTAMP_STYLE = Style(dim=True)
EVENT_STYLE = Style(bold=True, italic=True, color="bright_cyan")
# On a light theme the same hues in darker shades (bright cyan or yellow on white cannot be read);
# 256-colour names, each at least 4.4:1 against white, one per palette entry, none repeated.
LIGHT_PALETTE = ["deep_sky_blue4", "dark_magenta", "dark_green", "orange4", "blue3", "red3", "turquoise4",
                 "deep_pink4", "green4", "dodger_blue3"]
LIGHT_EVENT_STYLE = Style(bold=True, italic=True, color="deep_sky_blue4")
MATCH_STYLE = Style(color="black", bgcolor="yellow")
CURRENT_MATCH_STYLE = Style(color="black", bgcolor="dark_orange", bold=True, underline=True)
SEPARATOR = " \u2502 "  # " │ "
DEFAULT_VIEW_LINES = 50_000


class Meta(NamedTuple):
    kind: int  # TEXT, EVENT_LINE or CONTINUATION
    ts: int = 0  # characters of the timestamp prefix
    prefix: int = 0  # characters of timestamp plus service prefix
    colour: int = -1  # PALETTE index of the service in the merged view, -1 for none


PLAIN = Meta(TEXT)
EVENT_META = Meta(EVENT_LINE)


def service_style(colour: int, light: bool = False) -> Style:
    return (_LIGHT_SERVICE_STYLES if light else _SERVICE_STYLES)[colour % len(PALETTE)]


def event_style(light: bool = False) -> Style:
    return LIGHT_EVENT_STYLE if light else EVENT_STYLE


_SERVICE_STYLES = [Style(color=name, bold=True) for name in PALETTE]
_LIGHT_SERVICE_STYLES = [Style(color=name, bold=True) for name in LIGHT_PALETTE]


class LogHighlighter(Highlighter):
    """Styles the line being rendered from its Meta; marks search matches."""

    def __init__(self) -> None:
        self.meta: Meta | None = None
        self.light = False  # the app's theme is a light one: darker shades
        self.current = False  # the line holds the current search match
        self.pattern: re.Pattern[str] | None = None

    def highlight(self, text: Text) -> None:
        meta = self.meta
        if meta is not None:
            if meta.ts:
                text.stylize(TIMESTAMP_STYLE, 0, meta.ts)
            if meta.colour >= 0 and meta.prefix > meta.ts:
                text.stylize(service_style(meta.colour, self.light), meta.ts, meta.prefix)
            if meta.kind == EVENT_LINE:
                text.stylize(event_style(self.light), meta.prefix)
        if self.pattern is not None:
            style = CURRENT_MATCH_STYLE if self.current else MATCH_STYLE
            start = meta.prefix if meta is not None else 0
            for m in self.pattern.finditer(text.plain, start):
                if m.end() > m.start():
                    text.stylize(style, m.start(), m.end())


def widest(texts: Sequence[str], floor: int) -> int:
    """The widest line in cells, at least `floor`; exact where it matters, cheap for the rest.

    A line of n characters takes between n and 2n cells (wide characters), more with tabs.
    ASCII without tabs is exactly n; only other lines longer than half the width are measured.
    """
    best = floor
    if not texts:
        return best
    # The whole batch at once, in C: a flood's batches are thousands of plain ASCII lines.
    joined = "".join(texts)
    if "\t" not in joined:
        longest = max(map(len, texts))
        if longest * 2 <= best:
            return best
        if joined.isascii():
            return max(best, longest)
    for t in texts:
        n = len(t)
        if n * 2 <= best and "\t" not in t:
            continue
        if t.isascii() and "\t" not in t:
            if n > best:
                best = n
        else:
            w = cell_len(t.expandtabs())
            if w > best:
                best = w
    return best


# --- turning stored lines into display lines ------------------------------------------------------

_clock_cache: dict[int, str] = {}


def clock(key: int) -> str:
    """Local wall-clock time of an engine timestamp, to the millisecond."""
    sec, rest = divmod(key, 1_000_000_000)
    hms = _clock_cache.get(sec)
    if hms is None:
        if len(_clock_cache) > 4096:
            _clock_cache.clear()
        hms = _clock_cache[sec] = time.strftime("%H:%M:%S", time.localtime(sec))
    return f"{hms}.{rest // 1_000_000:03d} "


def format_lines(lines: Sequence[LogLine], *, merged: bool, timestamps: bool, name_width: int,
                 colours: dict[str, int], wrap_width: int | None = None) -> tuple[list[str], list[Meta]]:
    """Display strings and their Meta for a batch of stored lines."""
    texts: list[str] = []
    metas: list[Meta] = []
    limit = DISPLAY_LIMIT
    if not merged and not timestamps and wrap_width is None:  # the common case, per line as cheap as it gets
        texts = [line.text for line in lines]
        if texts and max(map(len, texts)) > limit:
            texts = [t if len(t) <= limit else for_display(t) for t in texts]
        metas = [EVENT_META if line.stream == EVENT else PLAIN for line in lines]
        return texts, metas
    meta_cache: dict[tuple[str, bool], tuple[Meta, Meta]] = {}
    for line in lines:
        t = line.text
        if len(t) > limit:
            t = for_display(t)
        ts = clock(line.key) if timestamps else ""
        prefix = ts + (f"{line.service:<{name_width}}{SEPARATOR}" if merged else "")
        is_event = line.stream == EVENT
        pair = meta_cache.get((line.service, is_event))
        if pair is None:
            colour = colours.get(line.service, -1) if merged else -1
            kind = EVENT_LINE if is_event else TEXT
            pair = meta_cache[(line.service, is_event)] = (
                Meta(kind, len(ts), len(prefix), colour), Meta(CONTINUATION, 0, len(prefix), -1))
        if wrap_width is None or cell_len(t) + len(prefix) <= wrap_width:
            texts.append(prefix + t)
            metas.append(pair[0])
            continue
        room = max(10, wrap_width - len(prefix))
        chunks = chop_cells(t.expandtabs(), room) or [""]
        texts.append(prefix + chunks[0])
        metas.append(pair[0])
        pad = " " * len(prefix)
        for chunk in chunks[1:]:
            texts.append(pad + chunk)
            metas.append(pair[1])
    return texts, metas
