"""NASWOT: a training-free accuracy proxy from the activation patterns of an untrained network.

The score of Mellor et al., "Neural Architecture Search without Training", ICML 2021. A batch of
random images goes through the untrained network; each image's binary code is whether each activation
unit (ReLU-family and SiLU-family layers) is positive. With ``N_A`` units, the kernel
``K[i, j] = N_A - hamming(c_i, c_j)`` is accumulated layer by layer as ``c c^T + (1 - c)(1 - c)^T`` and
the score is ``log |K|``: networks whose activation patterns separate inputs well (a well-conditioned
K) tend to train to higher accuracy. As in the reference code, batch norm uses the batch's statistics
(train mode), with dropout off so the score is deterministic.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

# Activation layers whose outputs form the NASWOT binary codes (matched by class name so the
# set needs no torch import): unit "on" = output > 0.
_CODE_ACTIVATIONS = frozenset({"ReLU", "ReLU6", "LeakyReLU", "SiLU", "Hardswish", "GELU"})


def naswot_score(model: torch.nn.Module, images: torch.Tensor) -> float:
    """NASWOT score ``log |K_H|`` of an untrained network on ``images`` (Mellor et al., ICML 2021).

    Args:
        model: the network; its mode is restored afterwards.
        images: ``(batch, 3, H, W)`` inputs.

    Returns:
        The log-determinant of the ``(batch, batch)`` Hamming-similarity kernel of the inputs' binary
        activation codes; ``-inf`` when the kernel is singular (two inputs with the same code).
    """
    import torch

    batch = int(images.shape[0])
    kernel = torch.zeros(batch, batch, dtype=torch.float64)  # (batch, batch)

    def accumulate(_module: torch.nn.Module, _inputs: Any, output: torch.Tensor) -> None:
        units = output[0].numel()
        # float32 counts are exact below 2^24 and make the product several times cheaper.
        dtype = torch.float32 if units < 2**24 else torch.float64
        codes = (output.reshape(batch, -1) > 0).to(dtype)  # (batch, units of this layer)
        on = (codes @ codes.T).to(torch.float64)  # (batch, batch) units on for both inputs
        active = codes.sum(dim=1).to(torch.float64)  # (batch,) units on per input
        # Agreements = both on + both off = units - Hamming distance, where both off is
        # units - active_i - active_j + on_ij: one product per layer instead of two.
        kernel.add_(2.0 * on + units - active[:, None] - active[None, :])

    layers = [m for m in model.modules() if type(m).__name__ in _CODE_ACTIVATIONS]
    if not layers:
        raise RuntimeError("the network has no activation layers to compute the NASWOT score on")
    was_training = model.training
    handles = [layer.register_forward_hook(accumulate) for layer in layers]
    try:
        model.train()  # batch statistics in batch norm, as the reference implementation runs it
        for module in model.modules():
            if isinstance(module, torch.nn.Dropout | torch.nn.Dropout2d):
                module.eval()
        with torch.no_grad():
            model(images)
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    sign, logdet = torch.linalg.slogdet(kernel)
    return float(logdet) if float(sign) > 0 else float("-inf")
