"""The running stack as it changes: engine events into status rows, log followers into the
bounded store, and the one object that owns them for a screen or a watcher."""
