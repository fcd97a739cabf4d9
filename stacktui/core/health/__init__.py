"""Is a service really up: engine state, healthchecks, HTTP probes, stale namespaces, and
the gates a restarted service must pass."""
