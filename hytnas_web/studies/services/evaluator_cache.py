"""Evaluators built once per worker process and kept, keyed by a digest of their configuration.

Building an evaluator can cost more than the optimizer's whole iteration: a table evaluator parses its
tables and fits a predictor per objective. The stored configuration never changes once a study is
saved, so every iteration of a study (and every study with the very same evaluator and tables) can
share one fitted evaluator: the key is a digest of the evaluator's name and parameters, the tables'
text included, so a different table or setting is a different key and is built anew. Only a few are
kept (least recently used go first), so a worker serving many studies holds a bounded amount.

Sharing is safe because evaluators are deterministic functions of their configuration: the same
architecture gets the same answer from a kept evaluator as from a fresh one.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass

from search_engine.config import StudyConfig
from search_engine.evaluators.base import Evaluator

EVALUATORS_KEPT = 4
"""Fitted evaluators a worker process keeps (each table evaluator holds its tables and predictors)."""


@dataclass(frozen=True)
class CacheInfo:
    """How the process's kept evaluators have served: found, built, and how many are kept now."""

    hits: int
    builds: int
    kept: int


_kept: OrderedDict[str, Evaluator] = OrderedDict()
_counts = {"hits": 0, "builds": 0}
_lock = threading.Lock()


def evaluator_digest(config: StudyConfig) -> str:
    """SHA-256 of the evaluator's name and parameters in canonical JSON: equal only for equal settings."""
    text = json.dumps(config.evaluator.to_dict(), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def study_evaluator(config: StudyConfig) -> Evaluator:
    """The evaluator of ``config``, built on first use in this process and kept for the next calls.

    Built outside the lock (a table evaluator fits for a while), so two threads asking at once for a
    new configuration may both build it; the first one stored is the one kept.
    """
    key = evaluator_digest(config)
    with _lock:
        found = _kept.get(key)
        if found is not None:
            _kept.move_to_end(key)
            _counts["hits"] += 1
            return found
    built = config.build_evaluator()
    with _lock:
        _counts["builds"] += 1
        kept = _kept.setdefault(key, built)
        _kept.move_to_end(key)
        while len(_kept) > EVALUATORS_KEPT:
            _kept.popitem(last=False)
    return kept


def cache_info() -> CacheInfo:
    """This process's figures (for tests and benchmarks: a study's tables are fitted once)."""
    with _lock:
        return CacheInfo(_counts["hits"], _counts["builds"], len(_kept))


def forget_evaluators() -> None:
    """Drop every kept evaluator (the next call of ``study_evaluator`` builds anew)."""
    with _lock:
        _kept.clear()
