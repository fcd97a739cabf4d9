"""Kubernetes objects from the effective compose model: each namespace group as one Pod (a Deployment),
its ports as one Service, health as probes, per-user copies; plain dicts, written as one YAML stream
or a file per object. What cannot be carried over is said, with its file and line."""
