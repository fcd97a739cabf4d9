"""The operations the CLI and the TUI both call: status, check, restart, layout changes.
Typed results; the faces only print or draw them."""
