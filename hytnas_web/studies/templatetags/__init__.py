"""Template filters of the studies app."""
