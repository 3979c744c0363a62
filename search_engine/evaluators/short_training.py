"""Short-training accuracy: train an architecture's classifier briefly on a synthetic task, then validate.

Method: the classification variant of the network (``build_model(..., task="classification")``, global
average pooling + linear classifier) is built at a small training resolution with weights drawn under
a seed, then trained from scratch for a fixed number of steps on the images of
:mod:`search_engine.nn.synthetic_data` (shapes and oriented textures whose colours carry no label):
cross-entropy, AdamW, a cosine learning-rate schedule from ``lr`` down to zero, mini-batches drawn
without replacement in an order fixed by the seed. The score is top-1 accuracy in percent on a
separate validation split, with batch norm on the running statistics gathered during training.

Every architecture of a study sees the same images in the same order and starts from weights drawn
under the same seed, so differences between architectures are not differences in luck; the run is
repeatable bit for bit on the same machine and thread count. Torch's global random state is left as
it was: the run happens inside ``torch.random.fork_rng`` seeded with ``seed`` (the weights), batches
come from a local ``torch.Generator``, and nothing else is random (no dropout, no augmentation).

Caveat: this is a proxy. A few hundred steps on a small synthetic task rank architectures by how
quickly they learn simple spatial features at low resolution; it is not their ImageNet (or COCO)
accuracy, and networks whose strength shows only after long schedules on real data may rank
differently there. It costs seconds (small networks) to minutes (the widest and deepest) per
architecture on a CPU, against the milliseconds of the training-free NASWOT score.
"""

from __future__ import annotations

import hashlib
import math
import statistics
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

    from search_engine.nn.synthetic_data import SyntheticImages

#: Validation images of the synthetic task.
VAL_IMAGES = 512
#: AdamW's decoupled weight decay.
WEIGHT_DECAY = 0.05
#: Training steps whose mean loss is reported as the final loss.
LOSS_WINDOW = 10
#: Images per forward pass during validation (no gradients, so larger than a training batch).
VAL_BATCH = 256

#: Called with the number of steps done (0 before the first); raises to stop the run.
StepCheck = Callable[[int], None]


class TrainingDiverged(Exception):
    """The training loss became NaN or infinite."""


@dataclass(frozen=True)
class TrainingOutcome:
    """What a short training run measured.

    Attributes:
        val_accuracy: top-1 accuracy on the validation split, in percent.
        final_loss: mean training cross-entropy of the last ``LOSS_WINDOW`` steps.
        seconds: wall time of the training steps and the validation pass (not the data set's).
    """

    val_accuracy: float
    final_loss: float
    seconds: float


def train_and_validate(
    architecture: Mapping[str, Any],
    data: SyntheticImages,
    *,
    num_classes: int,
    steps: int,
    batch_size: int,
    lr: float,
    seed: int,
    check: StepCheck | None = None,
) -> TrainingOutcome:
    """Train the classification network of ``architecture`` on ``data`` and return its validation accuracy.

    Args:
        architecture: a decoded HyT-NAS architecture.
        data: images ``(n, 3, R, R)`` and labels; the network is built for side R.
        num_classes: classes of the classifier (labels lie in ``[0, num_classes)``).
        steps: optimiser steps.
        batch_size: images per step.
        lr: peak learning rate of AdamW (the cosine schedule decays it to 0).
        seed: weights and batch order.
        check: called before the first step and after every step; raise from it to stop (time limit).

    Returns:
        The validation accuracy (%), the final training loss and the wall time.

    Raises:
        TrainingDiverged: the loss became non-finite.
    """
    import torch

    from search_engine.nn.hybrid import build_model

    start = time.perf_counter()
    with torch.random.fork_rng(devices=[]):  # seeded here, restored on the way out
        torch.manual_seed(seed)
        model = build_model(
            dict(architecture),
            task="classification",
            resolution=int(data.train_images.shape[-1]),
            num_classes=num_classes,
        )
        batches = _batches(int(data.train_labels.shape[0]), batch_size, steps, _derived_seed(seed, "batches"))
        losses = _fit(model, data, batches, steps, lr, check)
        accuracy = _accuracy(model, data.val_images, data.val_labels)
    window = losses[-LOSS_WINDOW:]
    return TrainingOutcome(accuracy, sum(window) / len(window), time.perf_counter() - start)


def seeds_metrics(seeds: Sequence[int], outcomes: Sequence[TrainingOutcome]) -> dict[str, float]:
    """What runs of one architecture under several seeds measured, as an evaluation's metrics.

    Args:
        seeds: the seed of each run.
        outcomes: each run's outcome, in the same order (at least one).

    Returns:
        ``val_accuracy`` (%, the mean over the runs), ``train_final_loss`` (mean), ``train_seconds``
        (total) and, with two runs or more, ``val_accuracy_std`` (the sample standard deviation over
        the runs, in percentage points) and ``val_accuracy_seed_<s>`` (the accuracy under seed ``s``).
    """
    accuracies = [outcome.val_accuracy for outcome in outcomes]
    metrics = {
        "val_accuracy": statistics.fmean(accuracies),
        "train_final_loss": statistics.fmean(outcome.final_loss for outcome in outcomes),
        "train_seconds": sum(outcome.seconds for outcome in outcomes),
    }
    if len(outcomes) > 1:
        metrics["val_accuracy_std"] = statistics.stdev(accuracies)
        metrics.update({f"val_accuracy_seed_{s}": a for s, a in zip(seeds, accuracies, strict=True)})
    return metrics


def _fit(
    model: torch.nn.Module,
    data: SyntheticImages,
    batches: Iterator[torch.Tensor],
    steps: int,
    lr: float,
    check: StepCheck | None,
) -> list[float]:
    """Run the optimiser over ``batches`` (index tensors) and return the loss of every step."""
    import torch

    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=WEIGHT_DECAY)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)
    losses: list[float] = []
    model.train()
    if check is not None:
        check(0)
    for step, indices in enumerate(batches, start=1):
        logits = model(data.train_images[indices])  # (batch, num_classes)
        loss = torch.nn.functional.cross_entropy(logits, data.train_labels[indices])
        value = float(loss.detach())
        if not math.isfinite(value):
            raise TrainingDiverged(f"training diverged: the loss became {value} at step {step}")
        optimizer.zero_grad(set_to_none=True)
        torch.autograd.backward(loss)  # typed, unlike Tensor.backward
        optimizer.step()
        schedule.step()
        losses.append(value)
        if check is not None:
            check(step)
    return losses


def _batches(n: int, batch_size: int, steps: int, seed: int) -> Iterator[torch.Tensor]:
    """``steps`` index batches ``(batch_size,)``: passes over a fresh permutation of ``n`` images each.

    A pass's leftover (fewer than ``batch_size`` images) is dropped, so every batch has the same size;
    when ``batch_size > n`` each batch is a permutation's first ``n`` images.
    """
    import torch

    generator = torch.Generator().manual_seed(seed)
    size = min(batch_size, n)
    done = 0
    while True:
        permutation = torch.randperm(n, generator=generator)  # (n,)
        for first in range(0, n - size + 1, size):
            if done == steps:
                return
            done += 1
            yield permutation[first : first + size]


def _derived_seed(seed: int, stream: str) -> int:
    """A 63-bit seed for one random stream of the run, so no two streams share their numbers."""
    digest = hashlib.sha256(f"{seed}|{stream}".encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


def _accuracy(model: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    """Top-1 accuracy in percent of ``model`` (eval mode, no gradients) on ``images`` ``(n, 3, R, R)``."""
    import torch

    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, int(labels.shape[0]), VAL_BATCH):
            logits = model(images[i : i + VAL_BATCH])  # (batch, num_classes)
            correct += int((logits.argmax(dim=1) == labels[i : i + VAL_BATCH]).sum())
    return 100.0 * correct / int(labels.shape[0])
