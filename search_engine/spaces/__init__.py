"""Search spaces: maps between points of the unit cube and architectures."""
