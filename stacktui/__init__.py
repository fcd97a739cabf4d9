"""stacktui: a terminal stack manager for Docker Compose stacks that share namespaces."""

__version__ = "0.1.0"
