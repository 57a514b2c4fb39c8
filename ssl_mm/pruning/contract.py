"""What pruning needs from a network: :class:`PrunableNetwork`.

``SSLBasicVSRNet`` implements it. Picking, the penalty and slicing (``groups``,
``regularization``, ``slicing``) use only these members and ``nn.Module``'s own
(``named_modules``, ``parameters``, ``state_dict``), so another architecture built from
``ScaledConv2d`` layers can be pruned by implementing them too.
"""
from __future__ import annotations

from typing import Any, Iterator, Protocol, runtime_checkable

from torch import nn

from ..models.scaled_conv import ScaledConv2d


@runtime_checkable
class PrunableNetwork(Protocol):
    """An ``nn.Module`` whose ``ScaledConv2d`` scale vectors can be pruned. A scale vector is
    named by its parameter name, ``<layer>.act_scale`` (output units) or ``<layer>.act_scale_pre``
    (a residual block's conv1 inputs)."""

    arch: dict[str, Any]
    """Constructor keyword arguments that rebuild this architecture. Its ``widths`` entry (kept
    units per scale vector) is how slicing builds the pruned network: ``type(net)(**arch)``."""

    full_widths: dict[str, int]
    """The unpruned width of every scale vector."""

    def scaled_layers(self) -> Iterator[tuple[str, ScaledConv2d]]:
        """Every ``ScaledConv2d`` with its module name, in module order."""

    def input_producers(self) -> dict[str, str]:
        """Layer name -> the scaled layer whose kept units are its input channels. A layer not
        listed reads a full-width tensor (or, a block's conv1, its own ``act_scale_pre``)."""

    def residual_blocks(self) -> Iterator[tuple[str, nn.Module]]:
        """The residual blocks with their names: each has ``conv1`` (with ``act_scale_pre``),
        ``conv2`` and the ``in_idx`` / ``out_idx`` buffers, the hidden-state channels it reads
        and writes (Residual Sparsity Connection)."""

    def hidden_state_scales(self) -> list[list[str]]:
        """Per propagation branch, the scale vectors indexed by hidden-state channel (what its
        blocks read and write); ``align_residual`` picks them as one."""
