"""A convolution whose output units (and optionally input channels) carry SSL's learnable scales.

The scales are folded into the weight inside ``forward`` (``conv(x, s_out * W * s_in)``), which
is mathematically the SSL form ``s_out * (conv(x * s_in, W) + b)`` but costs O(weights) instead
of O(activations) per call, and is bit-exact with the plain conv when every scale is 1.
"""
from __future__ import annotations

import torch
from torch import nn


class ScaledConv2d(nn.Conv2d):
    """``nn.Conv2d`` with one learnable scale per output *unit* and, optionally, per input channel.

    A unit is ``group_size`` consecutive filters that live or die together: 1 for a plain conv,
    ``r**2`` for a conv feeding ``PixelShuffle(r)`` (filters ``u*r^2 ... u*r^2+r^2-1`` become
    output channel ``u`` after the shuffle).

    ``act_scale_mask`` / ``act_scale_pre_mask`` are buffers: a unit masked to 0 stays dead even if
    its scale is trained again (the released code's zeroed scales could come back to life).
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 kernel_size: int,
                 group_size: int = 1,
                 scale_input: bool = False) -> None:
        super().__init__(in_channels, out_channels, kernel_size, padding=kernel_size // 2, bias=True)
        if out_channels % group_size:
            raise ValueError(f'out_channels={out_channels} is not a multiple of group_size={group_size}')
        self.group_size = group_size
        units = out_channels // group_size
        self.act_scale = nn.Parameter(torch.ones(units))
        self.register_buffer('act_scale_mask', torch.ones(units))
        if scale_input:
            self.act_scale_pre = nn.Parameter(torch.ones(in_channels))
            self.register_buffer('act_scale_pre_mask', torch.ones(in_channels))
        else:
            self.act_scale_pre = None
            self.act_scale_pre_mask = None

    @property
    def num_units(self) -> int:
        return self.act_scale.numel()

    def unit_scale(self) -> torch.Tensor:
        """Effective scale per output unit (mask applied)."""
        return self.act_scale * self.act_scale_mask

    def input_scale(self) -> torch.Tensor | None:
        if self.act_scale_pre is None:
            return None
        return self.act_scale_pre * self.act_scale_pre_mask

    def folded_weight_bias(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Weight and bias with the scales multiplied in (the bias sits inside the out scale)."""
        out_scale = self.unit_scale().repeat_interleave(self.group_size)
        weight = self.weight * out_scale.view(-1, 1, 1, 1)
        in_scale = self.input_scale()
        if in_scale is not None:
            weight = weight * in_scale.view(1, -1, 1, 1)
        return weight, self.bias * out_scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weight, bias = self.folded_weight_bias()
        return self._conv_forward(x, weight, bias)

    def extra_repr(self) -> str:
        extra = f', group_size={self.group_size}' if self.group_size > 1 else ''
        if self.act_scale_pre is not None:
            extra += ', scale_input=True'
        return super().extra_repr() + extra
