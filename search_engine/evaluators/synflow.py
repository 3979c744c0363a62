"""SynFlow: a training-free accuracy proxy from the synaptic flow of an untrained network.

The score of Tanaka et al., "Pruning neural networks without any data by iteratively conserving
synaptic flow", NeurIPS 2020, as a zero-cost NAS proxy in Abdelfattah et al., "Zero-Cost Proxies for
Lightweight NAS", ICLR 2021. Every weight is replaced by its absolute value, one all-ones image goes
through the network in float64, and with ``R`` the sum of every output the score is

    S = sum over the weights theta of the convolutions and linear layers of |theta * dR/dtheta|,

the total "synaptic flow" through the network: with all weights positive and a constant input no
unit is switched off, so ``S`` measures how much signal the whole network's paths carry. As in the
zero-cost-proxies reference code (``synflow``, its ``bn=False`` variant), batch norm is removed: on
one constant image a batch-norm layer's batch statistics are degenerate (zero variance), so the
reference computes the score on a copy of the network without them. Layer norm, attention and the
activations stay as they are.

The score grows multiplicatively with depth and width (``S`` is a sum over paths of products of
weights), so it spans tens of orders of magnitude over a search space; callers report its base-10
logarithm. Nothing random is involved beyond the weights the network was built with: the same
network gives the same score.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch


def synflow_score(model: torch.nn.Module, input_shape: Sequence[int]) -> float:
    """SynFlow score of an untrained network (Tanaka et al. 2020; Abdelfattah et al. 2021).

    Args:
        model: the network; it is copied, never changed (weights, mode and dtype stay as they are).
        input_shape: ``(channels, H, W)`` of one input image (a leading batch size is ignored).

    Returns:
        ``sum |theta * dR/dtheta|`` over the weights of every ``Conv2d`` and ``Linear`` layer, where
        ``R`` is the sum of the outputs on one all-ones image, with ``|theta|`` for every parameter
        and batch norm removed; positive and finite for any network whose output depends on its
        input (float64 throughout).
    """
    import torch

    shape = tuple(int(size) for size in input_shape)[-3:]
    flow_net = _without_batch_norm(copy.deepcopy(model)).double()
    flow_net.eval()  # nothing random: no dropout
    with torch.no_grad():
        for parameter in flow_net.parameters():
            parameter.abs_()
    flow_net.zero_grad(set_to_none=True)
    output = flow_net(torch.ones((1, *shape), dtype=torch.float64))
    torch.autograd.backward(_total(output))
    layers = [m for m in flow_net.modules() if isinstance(m, torch.nn.Conv2d | torch.nn.Linear)]
    score = 0.0
    with torch.no_grad():
        for layer in layers:
            if layer.weight.grad is not None:
                score += float((layer.weight * layer.weight.grad).abs().sum())
    return score


def _without_batch_norm(model: torch.nn.Module) -> torch.nn.Module:
    """``model`` with every batch-norm layer replaced by the identity (in place; returns it)."""
    import torch

    for name, child in list(model.named_children()):
        if isinstance(child, torch.nn.modules.batchnorm._BatchNorm):
            setattr(model, name, torch.nn.Identity())
        else:
            _without_batch_norm(child)
    return model


def _total(output: Any) -> torch.Tensor:
    """The sum of every tensor in a network's output (a tensor, or lists and dicts of them)."""
    import torch

    if isinstance(output, torch.Tensor):
        return output.sum()
    values = output.values() if isinstance(output, dict) else output
    parts = [_total(value) for value in values]
    return torch.stack(parts).sum()
