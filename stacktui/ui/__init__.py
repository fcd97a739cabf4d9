"""The Textual face of stacktui: it draws and dispatches; core does the work."""
