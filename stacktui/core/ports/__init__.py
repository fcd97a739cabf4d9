"""Ports: published and declared in the files, held on the host, listened on inside a
shared namespace, and answering after a change."""
