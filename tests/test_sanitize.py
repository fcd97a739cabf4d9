"""Container output is data: what sanitize returns can be drawn without the terminal acting on it."""
from __future__ import annotations

import random
from pathlib import Path

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
    ("isolate \u2067x\u2069".encode(), "isolate <U+2067>x<U+2069>"),
    ("marks \u200e1\u200f2\u061c3".encode(), "marks <U+200E>1<U+200F>2<U+061C>3"),  # LRM, RLM, ALM
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


# Every character that moves text around when drawn: bidi embeddings, overrides, isolates and marks.
BIDI = {0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)}
# What the fuzz draws from: every single byte, and the multi-byte UTF-8 forms that matter here:
# C1 controls (U+0080-9F as two bytes, which a terminal may take for 8-bit CSI or OSC), the
# line and paragraph separators, the bidi controls, and plain multi-byte text around them.
PIECES = [bytes([b]) for b in range(256)] + [chr(c).encode() for c in range(0x80, 0xA0)] + \
    [chr(c).encode() for c in (0x2028, 0x2029, 0x0085, *BIDI)] + ["é", "漢", "🙂", "\x1b[", "\x1b]"]


def test_no_output_can_split_a_line_or_carry_a_control_character():
    rng = random.Random(7)
    pieces = [p if isinstance(p, bytes) else p.encode() for p in PIECES]
    multibyte = 0
    for _ in range(4000):
        drawn = [rng.choice(pieces) for _ in range(rng.randint(0, 40))]
        multibyte += sum(1 for p in drawn if len(p) > 1)
        raw = b"".join(drawn)
        for text in (sanitize(raw), sanitize(raw.decode("utf-8", "replace"))):
            assert len(text.splitlines()) <= 1, raw
            assert not any(ord(ch) < 0x20 and ch != "\t" for ch in text), raw
            assert not any(0x7F <= ord(ch) <= 0x9F for ch in text), raw
            assert not any(ord(ch) in BIDI or ch in "\u2028\u2029" for ch in text), raw
    assert multibyte > 10_000  # the multi-byte characters were drawn, not only single bytes


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


def test_the_readme_and_the_guarantees_say_what_is_done_with_escape_sequences():
    """The TUI removes them (payload included) and shows other controls; the CLI prints every control
    as an escape. Both documents say so, in the same words."""
    from stacktui.core.sanitize import printable

    line = "\x1b[31mred\x1b[0m \x1b]52;c;aGk=\x07copied \x07bell [b]markup[/b]"
    assert sanitize(line) == "red copied \u2407bell [b]markup[/b]"
    assert printable(line) == "\\x1b[31mred\\x1b[0m \\x1b]52;c;aGk=\\x07copied \\x07bell [b]markup[/b]"

    root = Path(__file__).resolve().parent.parent
    said = []
    for doc in (root / "README.md", root / "docs" / "guarantees.md"):
        text = " ".join(doc.read_text().split())
        start = text.index("**Container output is data.**")
        said.append(text[start:text.index("A container cannot", start)])
        assert "made visible, never interpreted" not in text
    assert said[0] == said[1]
    assert "In the TUI, escape sequences" in said[0] and "payload included) are removed" in said[0]
    assert "In the CLI's output every control character, escape sequences included, is printed as a visible" \
        in said[0]
