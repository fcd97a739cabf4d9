"""Restart plans: which services, in which order, each gated on health; and running them."""
