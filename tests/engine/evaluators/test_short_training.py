"""Short training on the synthetic task: it learns, it repeats for a seed, and it can be stopped."""

from __future__ import annotations

from typing import Any

import pytest

torch = pytest.importorskip("torch")

from search_engine.evaluators.short_training import train_and_validate  # noqa: E402
from search_engine.nn.synthetic_data import make_dataset  # noqa: E402
from search_engine.spaces.hytnas import HyTNASSpace  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _middle() -> dict[str, Any]:
    """Every variable at its middle choice: a small network (24 channels in stage 1)."""
    return {v.name: v.choices[(len(v.choices) - 1) // 2] for v in HyTNASSpace().variables}


def test_a_small_network_learns_the_task_well_above_chance() -> None:
    # One block per stage: about 2.5 s; seeds 0-4 reach 75-94 % with these settings.
    shallow = _middle() | {f"blocks_stage{stage}": 1 for stage in (2, 3, 4, 5)}
    data = make_dataset(1024, 256, 32, 4, seed=0)
    outcome = train_and_validate(shallow, data, num_classes=4, steps=100, batch_size=32, lr=5e-3, seed=0)
    assert outcome.val_accuracy > 50.0  # chance: 25 %
    assert outcome.final_loss < 1.2  # chance: ln 4 = 1.39


def test_the_same_seed_gives_the_same_run_and_the_global_random_state_is_untouched() -> None:
    data = make_dataset(128, 64, 16, 4, seed=0)
    settings: dict[str, Any] = {"num_classes": 4, "steps": 15, "batch_size": 16, "lr": 2e-3}
    global_state = torch.random.get_rng_state()
    first = train_and_validate(_middle(), data, seed=5, **settings)
    again = train_and_validate(_middle(), data, seed=5, **settings)
    other = train_and_validate(_middle(), data, seed=6, **settings)
    assert torch.equal(torch.random.get_rng_state(), global_state)
    assert (again.val_accuracy, again.final_loss) == (first.val_accuracy, first.final_loss)
    assert other.final_loss != first.final_loss


class _Stop(Exception):
    pass


def test_the_check_runs_before_and_after_every_step_and_can_stop_the_run() -> None:
    data = make_dataset(64, 16, 16, 2, seed=0)
    seen: list[int] = []

    def check(done: int) -> None:
        seen.append(done)
        if done == 3:
            raise _Stop

    with pytest.raises(_Stop):
        train_and_validate(
            _middle(), data, num_classes=2, steps=10, batch_size=8, lr=1e-3, seed=0, check=check
        )
    assert seen == [0, 1, 2, 3]
