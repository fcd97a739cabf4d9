"""Self-heal: finds joiners stranded in a dead namespace and repairs them unattended, with the restart plans."""
