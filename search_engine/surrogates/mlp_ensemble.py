"""MLP ensemble surrogate: small torch networks trained to order points (margin ranking loss)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.stats import rankdata

from search_engine.params import param
from search_engine.surrogates.base import seed_from
from search_engine.surrogates.torch_base import TorchSurrogate, cube_inputs
from search_engine.types import Array

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class _FittedEnsemble:
    """Trained member weights plus each member's score scale on the training points."""

    weights: list[Any]  # torch tensors, see _init_weights
    score_mean: Any  # (n_members, 1) tensor
    score_std: Any  # (n_members, 1) tensor


@dataclass(eq=False)
class MLPEnsembleSurrogate(TorchSurrogate):
    """An ensemble of two-hidden-layer ReLU networks per objective, trained on pairs.

    Each epoch, every member draws its own ``pairs_per_point * n`` random pairs of measured points
    and takes one full-batch AdamW step on ``MarginRankingLoss``: a pair whose objective values
    differ must get scores in the same order, at least ``margin`` apart. Different initial weights
    and different pairs make the members disagree where data are scarce.

    A ranking loss fixes a member's scores only up to an offset and a scale, so each member's
    scores are standardised by their mean and std over the training points before averaging;
    ``mean`` is the average standardised score (lower = better, no units) and ``std`` the spread
    of the members around it. All members train at once as batched matrix products, on
    ``n_threads`` torch threads (see :func:`~search_engine.surrogates.torch_base.torch_threads`).
    """

    provides_std = True
    predicts_values = False

    n_members: int = param(5, "Networks in the ensemble; their spread is the std.", low=2, high=50)
    hidden: int = param(64, "Units in each of the two hidden layers.", low=4, high=1024)
    epochs: int = param(200, "Training steps, each on freshly sampled pairs.", low=1, high=20000)
    lr: float = param(0.01, "AdamW learning rate.", low=1e-5, high=1.0)
    margin: float = param(0.1, "Score gap the ranking loss asks between a pair.", low=0.0, high=10.0)
    weight_decay: float = param(1e-4, "AdamW weight decay.", low=0.0, high=1.0)
    pairs_per_point: int = param(16, "Pairs sampled per measured point each epoch.", low=1, high=256)
    n_threads: int = param(1, "Torch threads used while fitting and predicting.", low=1, high=64)

    def _fit_one(self, X: Array, y: Array, rng: np.random.Generator) -> _FittedEnsemble:
        import torch

        generator = torch.Generator().manual_seed(seed_from(rng))
        inputs = cube_inputs(X)  # (n, n_vars)
        # Only the order matters: dense ranks compare exactly in float32, raw values may not.
        target = torch.as_tensor(rankdata(y, method="dense"), dtype=torch.float32)  # (n,)
        n, m = X.shape[0], self.n_members
        weights = _init_weights(m, X.shape[1], self.hidden, generator)
        optimizer = torch.optim.AdamW(weights, lr=self.lr, weight_decay=self.weight_decay)
        loss_fn = torch.nn.MarginRankingLoss(margin=self.margin, reduction="none")
        n_pairs = self.pairs_per_point * n
        for _ in range(self.epochs):
            first = torch.randint(n, (m, n_pairs), generator=generator)  # (n_members, n_pairs)
            second = torch.randint(n, (m, n_pairs), generator=generator)
            # +1 where the first point is worse (larger), so its score must be the larger one.
            sign = torch.sign(target[first] - target[second])
            valid = (sign != 0).float()  # ties and self-pairs carry no order
            scores = _forward(weights, inputs)  # (n_members, n)
            losses = loss_fn(scores.gather(1, first), scores.gather(1, second), sign)
            loss = (losses * valid).sum() / valid.sum().clamp(min=1.0)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        with torch.no_grad():
            scores = _forward(weights, inputs)
            score_mean = scores.mean(dim=1, keepdim=True)
            score_std = scores.std(dim=1, keepdim=True).clamp(min=1e-12)
        return _FittedEnsemble([w.detach() for w in weights], score_mean, score_std)

    def _predict_one(self, model: _FittedEnsemble, X: Array) -> tuple[Array, Array]:
        import torch

        with torch.no_grad():
            scores = (_forward(model.weights, cube_inputs(X)) - model.score_mean) / model.score_std
            mean, std = scores.mean(dim=0), scores.std(dim=0)  # (n,) each
        return mean.double().numpy(), std.double().numpy()


def _init_weights(n_members: int, n_vars: int, hidden: int, generator: torch.Generator) -> list[torch.Tensor]:
    """Weights of ``n_members`` networks n_vars -> hidden -> hidden -> 1, stacked on dimension 0.

    Uniform in ±1/sqrt(fan_in) like ``torch.nn.Linear``, but drawn from ``generator`` so that the
    global torch random state is neither used nor changed.
    """
    import torch

    shapes = [(n_vars, hidden), (1, hidden), (hidden, hidden), (1, hidden), (hidden, 1), (1, 1)]
    fan_ins = [n_vars, n_vars, hidden, hidden, hidden, hidden]
    weights = []
    for shape, fan_in in zip(shapes, fan_ins, strict=True):
        bound = 1.0 / fan_in**0.5
        w = (torch.rand((n_members, *shape), generator=generator) * 2.0 - 1.0) * bound
        weights.append(w.requires_grad_())
    return weights


def _forward(weights: list[torch.Tensor], inputs: torch.Tensor) -> torch.Tensor:
    """``(n_members, n)`` scores of every member for ``inputs (n, n_vars)``."""
    import torch

    W1, b1, W2, b2, W3, b3 = weights
    hidden = torch.relu(torch.matmul(inputs, W1) + b1)  # (n_members, n, hidden)
    hidden = torch.relu(torch.bmm(hidden, W2) + b2)  # (n_members, n, hidden)
    return (torch.bmm(hidden, W3) + b3).squeeze(-1)  # (n_members, n)
