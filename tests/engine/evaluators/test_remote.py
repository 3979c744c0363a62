"""The remote evaluator: the torch evaluator's objectives, with its settings handed to workers."""

from __future__ import annotations

from search_engine.evaluators.remote import RemoteEvaluator
from search_engine.registry import EVALUATORS

TRAINING = {
    "task": "classification",
    "accuracy": "trained",
    "num_classes": 6,
    "train_resolution": 24,
    "train_steps": 50,
    "train_batch": 16,
    "train_images": 512,
    "train_lr": 1e-3,
    "time_limit": 600.0,
}


def test_the_worker_spec_carries_the_training_settings_to_the_torch_evaluator() -> None:
    remote = EVALUATORS.build("remote", TRAINING)
    assert isinstance(remote, RemoteEvaluator)
    spec = remote.worker_spec()
    assert spec["name"] == "torch"
    assert {name: spec["params"][name] for name in TRAINING} == TRAINING
    measuring = EVALUATORS.build(spec["name"], spec["params"])
    assert measuring.objectives == remote.objectives
    assert [o.name for o in remote.objectives] == ["accuracy", "latency"]
    for name, value in TRAINING.items():
        assert getattr(measuring, name) == value
