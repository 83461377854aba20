"""The MLP reparameterisation of prefix-tuning (paper §4.3), shared by prefix, infix and
embedding-only: a small (P, d) embedding is mapped by Linear(d, mid) -> Tanh -> Linear(mid, width)
to the trained activations while training, and the MLP is dropped afterwards (only its output is
kept). Real-word initialisation regresses the MLP's output onto the LM's own activations.
"""

from __future__ import annotations

import torch
from torch import nn


def reparam_mlp(d: int, mid: int, width: int) -> nn.Sequential:
    """(..., d) -> (..., width) through a hidden layer of `mid` with Tanh (anchor `control_trans`)."""
    return nn.Sequential(nn.Linear(d, mid), nn.Tanh(), nn.Linear(mid, width))


def fit_mlp(
    mlp: nn.Module, inputs: torch.Tensor, target: torch.Tensor, steps: int, lr: float
) -> float:
    """Fit `mlp(inputs)` to `target` by MSE with Adam (anchor: 500 steps, lr 1e-4); returns the MSE."""
    inputs = inputs.detach()
    optimiser = torch.optim.Adam(mlp.parameters(), lr=lr)
    for _ in range(steps):
        optimiser.zero_grad()
        loss = torch.nn.functional.mse_loss(mlp(inputs), target)
        loss.backward()
        optimiser.step()
    with torch.no_grad():
        return float(torch.nn.functional.mse_loss(mlp(inputs), target))


def init_from_target(owner: nn.Module, target: torch.Tensor, steps: int, lr: float) -> float:
    """Real-word init of a prefix `owner` (one with `flat`, or `embedding` + `mlp`) from the LM's
    key/values `target` (P, width). Flat: copy them (anchor `init_shallow_word`); MLP: regress the
    MLP output onto them, the (P, d) embedding keeping its random init (anchor
    `lowdata_init_train3`). Returns the MSE left."""
    if not hasattr(owner, "mlp"):
        with torch.no_grad():
            owner.flat.copy_(target)
        return 0.0
    return fit_mlp(owner.mlp, owner.embedding.weight, target, steps, lr)
