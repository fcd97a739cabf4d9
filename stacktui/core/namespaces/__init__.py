"""Who shares whose namespaces: the dependency graph, its order, and every walk over it."""
