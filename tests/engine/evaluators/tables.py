"""Small synthetic CSV tables of measured architectures, shared by the table evaluator's tests."""

from __future__ import annotations

from typing import Any

import numpy as np

from search_engine.evaluators.table import TableEvaluator
from search_engine.registry import EVALUATORS

SPACE = {
    "name": "generic",
    "params": {
        "variables": [
            {"name": "width", "type": "int", "low": 1, "high": 8},
            {"name": "rate", "type": "float", "low": 0.0, "high": 2.0},
            {"name": "kind", "type": "choice", "choices": ["conv", "attn", "mlp"]},
        ]
    },
}
KINDS = ["conv", "attn", "mlp"]
OBJECTIVES = [
    {"name": "score", "direction": "max", "unit": "%"},
    {"name": "energy", "direction": "min", "unit": "mJ"},
]
HEADER = "width,rate,kind,score,energy"


def true_values(width: np.ndarray, rate: np.ndarray, kind: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """score is linear in the design, energy a product of it."""
    score = 10.0 + 2.0 * width - 3.0 * rate + kind
    energy = width * (1.0 + rate) * (1.0 + kind)
    return score, energy


def design(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.integers(1, 9, n), np.round(rng.random(n) * 2.0, 3), rng.integers(0, 3, n)


def header_csv(n: int = 80, seed: int = 0) -> str:
    """A table with a header row naming the variables (values as architectures hold them)."""
    width, rate, kind = design(n, seed)
    score, energy = true_values(width, rate, kind)
    lines = [HEADER]
    for w, r, k, s, e in zip(width, rate, kind, score, energy, strict=True):
        lines.append(f"{w},{r},{KINDS[k]},{s:.4f},{e:.4f}")
    return "\n".join(lines) + "\n"


def plain_csv(n: int = 80, seed: int = 0, objectives: tuple[str, ...] = ("score", "energy")) -> str:
    """A table without a header: the features (width, rate, kind index), then the objectives."""
    width, rate, kind = design(n, seed)
    values = dict(zip(("score", "energy"), true_values(width, rate, kind), strict=True))
    rows = np.column_stack([width, rate, kind] + [values[o] for o in objectives])
    return "\n".join(",".join(f"{v:g}" for v in row) for row in rows) + "\n"


def build(tables: list[dict[str, Any]], **params: Any) -> TableEvaluator:
    params.setdefault("objectives", OBJECTIVES)
    params.setdefault("space", SPACE)
    evaluator = EVALUATORS.build("table", {"tables": tables, **params})
    assert isinstance(evaluator, TableEvaluator)
    return evaluator
