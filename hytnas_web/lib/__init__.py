"""Small web-only helpers (starting the embedded Redis, ...)."""
