"""Container output is data: show it, never let it steer the terminal."""
from __future__ import annotations


def printable(text: str) -> str:
    """Control characters (ESC, BEL, CR, ...) become visible escapes; tabs stay."""
    out = []
    for ch in text:
        if ch == "\t" or ch.isprintable():
            out.append(ch)
        elif ord(ch) < 0x100:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(f"\\u{ord(ch):04x}")
    return "".join(out)
