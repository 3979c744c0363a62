"""Evaluators built once per worker process and kept, keyed by a digest of their configuration.

Building an evaluator can cost more than the optimizer's whole iteration: a table evaluator parses its
tables and fits a predictor per objective. The stored configuration never changes once a study is
saved, so every iteration of a study (and every study with the very same evaluator and tables) can
share one fitted evaluator: the key is a digest of the evaluator's name and parameters, the tables'
text included, so a different table or setting is a different key and is built anew. Only a few are
kept (least recently used go first), so a worker serving many studies holds a bounded amount.

Sharing is safe because evaluators are deterministic functions of their configuration: the same
architecture gets the same answer from a kept evaluator as from a fresh one.

A forking RQ worker runs each job in a new work horse, whose memory is gone when the job ends: there
the worker itself fits an iteration's evaluator before it forks (``keep_study_evaluator``), and
every work horse inherits it fitted.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from collections import OrderedDict

from hytnas_web.studies.models import Study
from hytnas_web.studies.services.scheduling import dispatch_of
from search_engine.config import StudyConfig
from search_engine.evaluators.base import Evaluator

logger = logging.getLogger(__name__)

EVALUATORS_KEPT = 4
"""Fitted evaluators a worker process keeps (each table evaluator holds its tables and predictors)."""


_kept: OrderedDict[str, Evaluator] = OrderedDict()
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
            return found
    built = config.build_evaluator()
    logger.info("built the %s evaluator %s in process %s", config.evaluator.name, key[:12], os.getpid())
    with _lock:
        kept = _kept.setdefault(key, built)
        _kept.move_to_end(key)
        while len(_kept) > EVALUATORS_KEPT:
            _kept.popitem(last=False)
    return kept


def keep_study_evaluator(study_id: int) -> None:
    """Build (or find) the study's evaluator in this process when its iterations measure inline.

    For a forking worker, before it forks the work horse of the study's iteration. Anything that
    goes wrong (no such study, a configuration that cannot be built) is left for the job itself to
    meet and report.
    """
    try:
        stored = Study.objects.filter(pk=study_id).values_list("config", flat=True).first()
        if stored is not None and dispatch_of(stored) == "inline":
            study_evaluator(StudyConfig.from_validated_dict(stored))
    except Exception:
        logger.info("study %s: evaluator not built ahead of its job", study_id, exc_info=True)


def forget_evaluators() -> None:
    """Drop every kept evaluator (the next call of ``study_evaluator`` builds anew)."""
    with _lock:
        _kept.clear()
