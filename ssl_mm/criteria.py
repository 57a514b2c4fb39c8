"""The ranking criteria: how important each unit of a scale vector is (low scores are pruned
first). ``CRITERIA``'s keys are the names params.yaml (``sparsify.criterion``) and the CLI
(``--criterion``) accept; the first is the default. ``SCOPES``: where units compete (``--scope``).

No torch at import: the CLI reads the names before it loads anything heavy.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from .errors import ArgumentError

if TYPE_CHECKING:
    import torch

    from .pruning.groups import ScaleGroup


def scale_magnitude(group: ScaleGroup) -> torch.Tensor:
    """|scale| of each unit (masked units score 0): SSL's criterion, as in its released code."""
    return group.effective_scale().abs().float()


def weight_l1(group: ScaleGroup) -> torch.Tensor:
    """Mean |weight| of each unit's filters (of an input channel's kernels, for input units),
    scales folded in: the L1-norm of the paper's figure and of Li et al.'s pruning."""
    weight = group.layer.folded_weight_bias()[0].abs().float()
    if group.is_input:
        return weight.mean(dim=(0, 2, 3))
    return weight.reshape(group.layer.num_units, -1).mean(dim=1)


CRITERIA: dict[str, Callable[[ScaleGroup], torch.Tensor]] = {'scale': scale_magnitude, 'l1': weight_l1}
# Units ranked against all others (SSL's global threshold) or within their own layer (L1-norm).
SCOPES = ('global', 'layer')


def check_criterion(criterion: str) -> str:
    """``criterion`` if it names a criterion, else an :class:`ArgumentError`."""
    if criterion not in CRITERIA:
        raise ArgumentError('criterion', criterion, f'is unknown: use one of {sorted(CRITERIA)}')
    return criterion
