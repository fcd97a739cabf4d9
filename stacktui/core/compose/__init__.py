"""The compose model and how it is found: discovery of files and project name, the Compose CLI
wrapper, the source text with line numbers, and the dataclasses of the effective config."""
