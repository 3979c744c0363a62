"""Values the engine returns (numpy scalars and arrays inside dicts and lists) as plain JSON types."""

from __future__ import annotations

import json
from typing import Any


def jsonable(value: Any) -> Any:
    """``value`` with every numpy scalar or array turned into Python numbers and lists (JSONField-safe)."""
    return json.loads(json.dumps(value, default=lambda v: v.tolist() if hasattr(v, "tolist") else str(v)))
