"""Bayesian neural network surrogate (torch): MC dropout or mean-field variational weights."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from search_engine.params import param
from search_engine.surrogates.base import seed_from
from search_engine.surrogates.torch_base import TorchSurrogate, cube_inputs
from search_engine.types import Array

if TYPE_CHECKING:
    import torch

# Initial weight std of the variational posterior, softplus(RHO_INIT) ~ 0.007: training starts
# near an ordinary network and widens where the data allow.
RHO_INIT = -5.0


@dataclass(frozen=True)
class _FittedBNN:
    """Trained parameters, target scaling and the seed that fixes the predictive samples."""

    params: dict[str, Any]  # torch tensors, see _init_params
    y_mean: float
    y_std: float
    predict_seed: int


@dataclass(eq=False)
class BNNSurrogate(TorchSurrogate):
    """A two-hidden-layer ReLU network per objective with a distribution over its function.

    ``mc-dropout``: dropout on both hidden layers, trained with squared error and
    weight decay; prediction keeps dropout on and averages ``n_samples`` passes.
    ``variational`` (Bayes by backprop): independent Gaussian weights ``N(mu, softplus(rho)^2)``
    under a ``N(0, prior_std^2)`` prior, trained on the evidence lower bound with a learned
    noise level; training samples pre-activations (the local reparameterisation trick, less
    gradient noise), prediction draws ``n_samples`` whole weight sets.

    Targets are standardised for training and predictions mapped back to the objective's units.
    Each predictive sample is one network applied to every query point, so a point's prediction
    does not depend on the other points in the call, and the samples are drawn from a seed fixed
    at fit time, so repeated ``predict`` calls agree. ``std`` is the spread of the sampled
    functions (model uncertainty; measurement noise is not added). Torch runs on ``n_threads``
    threads (see :func:`~search_engine.surrogates.torch_base.torch_threads`).
    """

    provides_std = True
    predicts_values = True

    method: Literal["mc-dropout", "variational"] = param(
        "mc-dropout",
        "mc-dropout: dropout kept on at prediction; variational: Gaussian weights (Bayes by backprop).",
    )
    hidden: int = param(64, "Units in each of the two hidden layers.", low=4, high=1024)
    epochs: int = param(500, "Full-batch training steps.", low=1, high=20000)
    lr: float = param(0.01, "Adam learning rate.", low=1e-5, high=1.0)
    dropout: float = param(0.1, "Dropout probability (mc-dropout).", low=0.01, high=0.9)
    weight_decay: float = param(1e-4, "Weight decay (mc-dropout).", low=0.0, high=1.0)
    prior_std: float = param(1.0, "Std of the Gaussian weight prior (variational).", low=1e-3, high=100.0)
    n_samples: int = param(50, "Sampled networks averaged per prediction.", low=2, high=1000)
    n_threads: int = param(1, "Torch threads used while fitting and predicting.", low=1, high=64)

    def _fit_one(self, X: Array, y: Array, rng: np.random.Generator) -> _FittedBNN:
        import torch

        generator = torch.Generator().manual_seed(seed_from(rng))
        y_mean, y_std = float(y.mean()), float(y.std())
        inputs = cube_inputs(X)  # (n, n_vars) in [-1, 1]
        target = torch.as_tensor((y - y_mean) / y_std, dtype=torch.float32)  # (n,)
        variational = self.method == "variational"
        params = _init_params(X.shape[1], self.hidden, variational, generator)
        decay = 0.0 if variational else self.weight_decay
        optimizer = torch.optim.Adam(list(params.values()), lr=self.lr, weight_decay=decay)
        for _ in range(self.epochs):
            if variational:
                output = _forward_local_reparam(params, inputs, generator)  # (n,)
                noise = params["log_noise"].exp()
                nll = 0.5 * ((target - output) / noise) ** 2 + params["log_noise"]
                # Negative ELBO per point: expected negative log-likelihood + KL(q || prior) / n.
                loss = nll.mean() + _kl(params, self.prior_std) / X.shape[0]
            else:
                output = _forward_dropout(params, inputs[None], self.dropout, generator)[0]
                loss = ((target - output) ** 2).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        fitted = {name: p.detach() for name, p in params.items()}
        return _FittedBNN(fitted, y_mean, y_std, seed_from(rng))

    def _predict_one(self, model: _FittedBNN, X: Array) -> tuple[Array, Array]:
        import torch

        generator = torch.Generator().manual_seed(model.predict_seed)
        inputs = cube_inputs(X)[None]  # (1, n, n_vars)
        with torch.no_grad():
            if self.method == "variational":
                samples = _forward_sampled_weights(model.params, inputs, self.n_samples, generator)
            else:
                samples = _forward_dropout(model.params, inputs, self.dropout, generator, self.n_samples)
            mean, std = samples.mean(dim=0), samples.std(dim=0)  # (n,) each, standardised units
        return (
            mean.double().numpy() * model.y_std + model.y_mean,
            std.double().numpy() * model.y_std,
        )


def _init_params(
    n_vars: int, hidden: int, variational: bool, generator: torch.Generator
) -> dict[str, torch.Tensor]:
    """Network parameters, drawn from ``generator`` (the global torch random state is not touched).

    Means are uniform in ±1/sqrt(fan_in) like ``torch.nn.Linear``; the variational network adds a
    ``rho`` per weight and bias and a learned log noise std of the standardised target.
    """
    import torch

    sizes = [(n_vars, hidden), (hidden, hidden), (hidden, 1)]
    params: dict[str, torch.Tensor] = {}
    for layer, (fan_in, fan_out) in enumerate(sizes):
        bound = 1.0 / math.sqrt(fan_in)
        params[f"w{layer}"] = (torch.rand((fan_in, fan_out), generator=generator) * 2.0 - 1.0) * bound
        params[f"b{layer}"] = (torch.rand((fan_out,), generator=generator) * 2.0 - 1.0) * bound
        if variational:
            params[f"w{layer}_rho"] = torch.full((fan_in, fan_out), RHO_INIT)
            params[f"b{layer}_rho"] = torch.full((fan_out,), RHO_INIT)
    if variational:
        params["log_noise"] = torch.tensor(math.log(0.1))
    return {name: p.requires_grad_() for name, p in params.items()}


def _forward_dropout(
    params: dict[str, torch.Tensor],
    inputs: torch.Tensor,
    p: float,
    generator: torch.Generator,
    n_samples: int | None = None,
) -> torch.Tensor:
    """``(n_samples, n)`` outputs with dropout on the hidden units.

    ``inputs`` is ``(1, n, n_vars)``. Training (``n_samples`` None) draws a mask per point, as
    ordinary dropout; prediction draws one mask per sample, shared by all points, so each sample
    is one thinned network. Masks come from ``generator`` because ``torch.nn.functional.dropout``
    reads the global random state.
    """
    import torch

    keep = 1.0 - p
    hidden = inputs
    for layer in range(2):
        hidden = torch.relu(hidden @ params[f"w{layer}"] + params[f"b{layer}"])  # (1 | S, n, hidden)
        shape = (1, *hidden.shape[1:]) if n_samples is None else (n_samples, 1, hidden.shape[-1])
        mask = (torch.rand(shape, generator=generator) < keep).float() / keep
        hidden = hidden * mask  # (1 | S, n, hidden)
    return (hidden @ params["w2"] + params["b2"]).squeeze(-1)


def _forward_local_reparam(
    params: dict[str, torch.Tensor], inputs: torch.Tensor, generator: torch.Generator
) -> torch.Tensor:
    """``(n,)`` outputs with pre-activations sampled from their Gaussian under q(weights).

    For ``h = x W + b`` with independent Gaussian weights, ``h`` is Gaussian with mean
    ``x mu_W + mu_b`` and variance ``x^2 sigma_W^2 + sigma_b^2``.
    """
    import torch

    hidden = inputs  # (n, n_vars)
    for layer in range(3):
        w_sigma = torch.nn.functional.softplus(params[f"w{layer}_rho"])
        b_sigma = torch.nn.functional.softplus(params[f"b{layer}_rho"])
        mean = hidden @ params[f"w{layer}"] + params[f"b{layer}"]
        var = hidden**2 @ w_sigma**2 + b_sigma**2
        noise = torch.randn(mean.shape, generator=generator)
        hidden = mean + torch.sqrt(var + 1e-12) * noise  # (n, fan_out)
        if layer < 2:
            hidden = torch.relu(hidden)
    return hidden.squeeze(-1)


def _forward_sampled_weights(
    params: dict[str, torch.Tensor], inputs: torch.Tensor, n_samples: int, generator: torch.Generator
) -> torch.Tensor:
    """``(n_samples, n)`` outputs of ``n_samples`` weight sets drawn from q, for ``inputs (1, n, n_vars)``."""
    import torch

    hidden = inputs
    for layer in range(3):
        w_mu, b_mu = params[f"w{layer}"], params[f"b{layer}"]
        w_sigma = torch.nn.functional.softplus(params[f"w{layer}_rho"])
        b_sigma = torch.nn.functional.softplus(params[f"b{layer}_rho"])
        w = w_mu + w_sigma * torch.randn((n_samples, *w_mu.shape), generator=generator)  # (S, in, out)
        b = b_mu + b_sigma * torch.randn((n_samples, 1, b_mu.shape[0]), generator=generator)  # (S, 1, out)
        hidden = torch.matmul(hidden, w) + b  # (S, n, out)
        if layer < 2:
            hidden = torch.relu(hidden)
    return hidden.squeeze(-1)


def _kl(params: dict[str, torch.Tensor], prior_std: float) -> torch.Tensor:
    """KL(q || N(0, prior_std^2)) summed over all weights and biases (closed form for Gaussians)."""
    import torch

    total = torch.zeros(())
    for name in [n for n in params if n.endswith("_rho")]:
        sigma = torch.nn.functional.softplus(params[name])
        mu = params[name.removesuffix("_rho")]
        total = (
            total
            + (math.log(prior_std) - torch.log(sigma) + (sigma**2 + mu**2) / (2.0 * prior_std**2) - 0.5).sum()
        )
    return total
