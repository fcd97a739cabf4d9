"""Container output as display text: what a container prints is data, never terminal control.

A log line may carry anything: colour codes, cursor moves, `ESC c` (reset the
screen), OSC 0 (set the window title), OSC 52 (write the clipboard), OSC 8
(links), NUL, DEL, C1 controls, invalid UTF-8, or Unicode line separators that
would split one line into two. `sanitize` removes escape sequences (their
payload included, so an OSC 52 clipboard write or a title leaves nothing
behind) and turns every remaining control character into a visible stand-in
(U+2400 control pictures for C0 and DEL, `<U+0085>` for C1 and bidi controls),
so the screen shows what the line says and does nothing else. Tab is kept.

It runs on every log line, so the common case (no control characters at all)
is one regex search over the line.
"""
from __future__ import annotations

import re

DISPLAY_LIMIT = 2000  # characters of one line shown before the "cut" marker
STORE_LIMIT = 256 * 1024  # characters kept in the store for one line (a 10 MB line stays bounded)

# Anything that is not plain printable text: C0 except tab, DEL, C1, the Unicode line and
# paragraph separators (str.splitlines would split on them) and bidi controls (they reorder text):
# the embeddings and overrides U+202A-E, the isolates U+2066-9, and the marks U+200E (LRM), U+200F
# (RLM) and U+061C (ALM), which alone can move a neighbouring run of digits or punctuation.
_SUSPECT = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")

# Escape sequences as a terminal would parse them (ECMA-48), in their 7-bit and 8-bit forms.
# String sequences (OSC, DCS, SOS, PM, APC) run to their terminator or, unterminated, to the end
# of the line: a terminal would swallow that text too, and its payload is not the user's to see.
_SEQUENCE = re.compile(
    r"\x1b(?:"
    r"\[[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]?"  # CSI: colours, cursor moves, erase
    r"|[\]PX^_][^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"  # OSC, DCS, SOS, PM, APC
    r"|[\x20-\x2f]*[\x30-\x7e])"  # other escapes: ESC c (reset), ESC 7/8, charset selection
    r"|\x9b[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]?"  # 8-bit CSI
    r"|[\x90\x98\x9d\x9e\x9f][^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"  # 8-bit string sequences
)


def _stand_in(code: int) -> str:
    if code < 0x20:
        return chr(0x2400 + code)  # control pictures: ␀ ␇ ␛ ...
    if code == 0x7F:
        return "\u2421"  # ␡
    return f"<U+{code:04X}>"


_VISIBLE = {code: _stand_in(code) for code in [*range(0x00, 0x09), *range(0x0A, 0x20), *range(0x7F, 0xA0),
                                                0x061C, 0x200E, 0x200F, 0x2028, 0x2029, *range(0x202A, 0x202F),
                                                *range(0x2066, 0x206A)]}


def _visible(match: re.Match[str]) -> str:
    return _VISIBLE[ord(match.group())]


def sanitize(line: bytes | str, *, keep: int = STORE_LIMIT) -> str:
    """One line of container output as safe text: sequences removed, controls made visible.

    A trailing carriage return (CRLF output) is dropped. At most `keep` characters are kept.
    """
    if isinstance(line, (bytes, bytearray)):
        # Cut before decoding: a 10 MB line costs no more than `keep` characters do.
        text = (line[:keep * 4] if len(line) > keep * 4 else line).decode("utf-8", "replace")
    else:
        text = line
    if len(text) > keep:
        text = text[:keep]
    if _SUSPECT.search(text) is None:
        return text
    if text.endswith("\r"):
        text = text[:-1]
    text = _SEQUENCE.sub("", text)
    if _SUSPECT.search(text) is None:  # colour codes were all there was: the common case
        return text
    return _SUSPECT.sub(_visible, text)


def escape_visibly(line: bytes | str) -> str:
    """Like `sanitize`, but escape sequences are shown (`␛[31m`) instead of removed: for a raw view."""
    text = line.decode("utf-8", "replace") if isinstance(line, (bytes, bytearray)) else line
    return _SUSPECT.sub(_visible, text)


def for_display(text: str, limit: int = DISPLAY_LIMIT) -> str:
    """Cut a very long (already sanitized) line for the screen, saying how much is hidden."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]} \u2026 [{len(text) - limit:,} more characters]"


def printable(text: str, *, keep: str = "\t", limit: int | None = None) -> str:
    """Text for a line of CLI output: every control character (escape sequences included) shown
    as a `\\xNN` / `\\uNNNN` escape, so a script or a log reading it sees what was said and a
    terminal obeys nothing. `keep` names the controls that stay (tab; a multi-line message
    keeps newlines). Cut to `limit` characters when given."""
    out = "".join(ch if ch in keep or ch.isprintable() else
                  f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}" for ch in text)
    return out if limit is None or len(out) <= limit else out[:limit] + "..."
