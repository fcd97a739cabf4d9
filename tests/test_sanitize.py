"""Container output is data: what sanitize returns can be drawn without the terminal acting on it."""
from __future__ import annotations

import random

import pytest

from stacktui.core.sanitize import DISPLAY_LIMIT, escape_visibly, for_display, sanitize

HOSTILE = [
    # (what a container prints, what the screen may show)
    (b"\x1bcwiped", "wiped"),  # ESC c: full terminal reset
    (b"\x1b[2J\x1b[Hcleared", "cleared"),  # erase display, cursor home
    (b"a\x1b[5;10Hb\x1b[3Ac", "abc"),  # cursor moves
    (b"\x1b]0;pwned title\x07text", "text"),  # OSC 0: window title (BEL-terminated)
    (b"\x1b]2;pwned\x1b\\text", "text"),  # OSC 2, ST-terminated
    (b"\x1b]52;c;cm0gLXJmIH4=\x07copied?", "copied?"),  # OSC 52: write the clipboard
    (b"\x1b]8;;https://evil.example/\x1b\\click me\x1b]8;;\x1b\\", "click me"),  # OSC 8 link
    (b"\x1bP+q544e\x1b\\dcs", "dcs"),  # DCS (terminfo query)
    (b"\x1b_apc payload\x1b\\apc", "apc"),  # APC
    (b"\x1b[31mred\x1b[0m plain", "red plain"),  # colour codes are dropped, the words stay
    (b"[bold red]not markup[/] [@click=app.quit]q[/]", "[bold red]not markup[/] [@click=app.quit]q[/]"),
    (b"nul\x00here", "nul\u2400here"),
    (b"bell\x07", "bell\u2407"),
    (b"del\x7f", "del\u2421"),
    (b"bs\x08x", "bs\u2408x"),
    (b"bad \xff\xfe bytes", "bad \ufffd\ufffd bytes"),
    (b"crlf line\r", "crlf line"),
    (b"over\rwrite", "over\u240dwrite"),
    ("c1 csi \x9b2J and nel \x85 end".encode(), "c1 csi  and nel <U+0085> end"),
    ("osc8 bit \x9d0;t\x9cafter".encode(), "osc8 bit after"),
    ("line\u2028sep\u2029para".encode(), "line<U+2028>sep<U+2029>para"),
    ("bidi \u202eevil\u202c".encode(), "bidi <U+202E>evil<U+202C>"),
    (b"trailing lone escape \x1b", "trailing lone escape \u241b"),
    (b"unterminated \x1b]0;title to the end", "unterminated "),
    (b"tab\tkept", "tab\tkept"),
]


@pytest.mark.parametrize("raw, shown", HOSTILE, ids=[repr(h[0][:20]) for h in HOSTILE])
def test_hostile_output_shows_only_its_text(raw, shown):
    assert sanitize(raw) == shown
    assert sanitize(raw.decode("utf-8", "replace")) == shown


def test_plain_lines_come_back_unchanged_and_unicode_survives():
    for line in ["GET /health 200 OK", "naïve café ✔ 漢字 🙂", "   indented", ""]:
        assert sanitize(line.encode()) == line


def test_no_output_can_split_a_line_or_carry_a_control_character():
    rng = random.Random(7)
    alphabet = bytes(range(256))
    for _ in range(3000):
        raw = bytes(rng.choice(alphabet) for _ in range(rng.randint(0, 60)))
        text = sanitize(raw)
        assert len(text.splitlines()) <= 1, raw
        assert not any(ord(ch) < 0x20 and ch != "\t" for ch in text), raw
        assert not any(0x7F <= ord(ch) <= 0x9F for ch in text), raw


def test_a_ten_megabyte_line_is_bounded_and_cut_for_display_with_a_marker():
    raw = b"x" * 10_000_000
    stored = sanitize(raw)
    assert len(stored) <= 256 * 1024
    shown = for_display(stored)
    assert shown.startswith("x" * DISPLAY_LIMIT)
    assert shown.endswith(f"[{len(stored) - DISPLAY_LIMIT:,} more characters]")
    assert for_display("short") == "short"


def test_escape_visibly_shows_the_sequences_instead_of_dropping_them():
    assert escape_visibly(b"\x1b[31mred") == "\u241b[31mred"
    assert escape_visibly(b"\x1b]52;c;x\x07") == "\u241b]52;c;x\u2407"
