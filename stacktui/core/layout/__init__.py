"""Layout changes: prepare a shared/separate switch as a diff, edit the file round-trip,
apply it to the running stack with verification and rollback, and keep the history."""
