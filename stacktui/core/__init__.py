"""Everything that is not drawing. Never imports textual, rich or stacktui.ui (import-linter checks)."""
