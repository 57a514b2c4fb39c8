"""SSL-BasicVSR: MMagic's BasicVSR with SSL's learnable scales and Residual Sparsity Connection.

Parameter names follow MMagic (``backward_resblocks.main.2.i.conv1``, ``upsample1.upsample_conv``,
...), so an MMagic BasicVSR checkpoint loads by name. Nothing is tied to 64 channels, 30 blocks
or x4: width, depth, upscale factor, HR-branch width and activation are arguments, and a pruned
(compact) model is the same class built with ``widths``.
"""
from __future__ import annotations

import copy
from typing import Callable, Iterator

import torch
from mmagic.models.editors.basicvsr.basicvsr_net import BasicVSRNet, SPyNet
from mmagic.models.utils import default_init_weights, flow_warp
from mmagic.registry import MODELS
from mmcv.cnn import build_activation_layer
from mmengine.model import BaseModule
from torch import nn

from ..choices import ACTIVATIONS
from ..errors import ArgumentError
from .scaled_conv import ScaledConv2d

DEFAULT_ACT = ACTIVATIONS['leaky_relu']  # MMagic's BasicVSR
# Parameters and buffers only SSL-BasicVSR has: a plain BasicVSR checkpoint leaves them at their
# identity values (scales and masks 1, full index sets).
SSL_ONLY = ('act_scale', 'act_scale_pre', 'act_scale_mask', 'act_scale_pre_mask', 'in_idx', 'out_idx')


def build_activation(act_cfg: dict) -> nn.Module:
    """The activation, in place where it supports it (as MMagic: saves a tensor per call)."""
    try:
        return build_activation_layer(dict(act_cfg, inplace=True))
    except TypeError:
        return build_activation_layer(copy.deepcopy(act_cfg))


def shuffle_factors(upscale_factor: int) -> list[int]:
    """Pixel-shuffle stages for an upscale factor: x4 -> [2, 2] (as BasicVSR), x3 -> [3], x8 -> [2, 2, 2]."""
    factors, rest = [], upscale_factor
    while rest % 2 == 0 and rest > 1:
        factors.append(2)
        rest //= 2
    if rest == 3:
        factors.append(3)
    elif rest != 1 or not factors:
        raise ArgumentError('upscale_factor', upscale_factor, 'is not supported: use 2**k or 3*2**k')
    return factors


def _find_runs_after_load(block: 'SSLResidualBlock', _incompatible_keys) -> None:
    block.find_runs()  # a module-level function, not a lambda: networks pickle (MLflow Models)


class SSLResidualBlock(nn.Module):
    """Residual block with a Residual Sparsity Connection.

    It reads only the hidden-state channels ``in_idx`` (conv1's kept inputs), and adds its output
    back into the channels ``out_idx`` (conv2's kept filters); the skip keeps full width, so every
    block picks its own read and write sets without alignment to its neighbours. The index sets
    are buffers: a pruned model saves, loads, traces and trains like any module (out-of-place
    ``index_add``, unlike the released code's in-place index_put). A set that is one contiguous
    run (full width, or made so by ``ssl_mm.pruning.permute``) is read as a slice, a view, and
    added into in place, with no gather or scatter.
    """

    def __init__(self, channels: int, in_width: int, mid_width: int, out_width: int) -> None:
        super().__init__()
        self.channels = channels
        self.conv1 = ScaledConv2d(in_width, mid_width, 3, scale_input=True)
        self.conv2 = ScaledConv2d(mid_width, out_width, 3)
        self.relu = nn.ReLU(inplace=True)
        self.register_buffer('in_idx', torch.arange(in_width))
        self.register_buffer('out_idx', torch.arange(out_width))
        self.register_load_state_dict_post_hook(_find_runs_after_load)
        self.find_runs()
        default_init_weights(self, 0.1)  # as MMagic's ResidualBlockNoBN

    def find_runs(self) -> None:
        """Record which index sets are one contiguous run (as slices), once, when the sets are
        set (built, loaded): forward then tests a Python attribute, no device sync."""
        def run(idx: torch.Tensor) -> slice | None:
            idx = idx.cpu()
            start = int(idx[0]) if idx.numel() else 0
            return slice(start, start + idx.numel()) if torch.equal(idx, torch.arange(start, start + idx.numel())) else None
        self.in_run, self.out_run = run(self.in_idx), run(self.out_idx)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # On a channels-last tensor, channels are the memory's last axis: gather and scatter
        # there. torch.gather with a broadcast index is ~6x faster than index_select (CPU).
        nhwc = x.dim() == 4 and x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous()
        if self.in_run is not None:  # a view (the whole of x at full width)
            inp = x if self.in_run.stop - self.in_run.start == self.channels else x[:, self.in_run]
        elif nhwc:
            x_last = x.permute(0, 2, 3, 1)
            index = self.in_idx.expand(*x_last.shape[:3], self.in_idx.numel())
            inp = torch.gather(x_last, 3, index).permute(0, 3, 1, 2)
        else:
            inp = x.index_select(1, self.in_idx)
        out = self.conv2(self.relu(self.conv1(inp)))
        # Training: conv1 saved x for its backward, so x is never written. Inference: x is the
        # previous layer's fresh output inside the branch, so it is updated in place instead of
        # copying the full-width hidden state once per block.
        inplace = not torch.is_grad_enabled()
        if self.out_run is not None:
            if self.out_run.stop - self.out_run.start == self.channels:
                return x.add_(out) if inplace else x + out
            if inplace:
                x[:, self.out_run].add_(out)
                return x
            start, stop = self.out_run.start, self.out_run.stop  # cat, not slice_scatter: ONNX exports it
            return torch.cat([x[:, :start], x[:, start:stop] + out, x[:, stop:]], dim=1)
        if nhwc:
            x_last, out_last = x.permute(0, 2, 3, 1), out.permute(0, 2, 3, 1)
            if inplace:
                x_last.index_add_(3, self.out_idx, out_last)
                return x
            return x_last.index_add(3, self.out_idx, out_last).permute(0, 3, 1, 2)
        return x.index_add_(1, self.out_idx, out) if inplace else x.index_add(1, self.out_idx, out)


class PropagationBranch(nn.Module):
    """MMagic's ``ResidualBlocksWithInputConv`` (same ``main.{0,1,2.i}`` names) with RSC blocks.

    ``width(name, full)`` returns the kept width of the scale vector ``name`` (see
    ``SSLBasicVSRNet``)."""

    def __init__(self, in_channels: int, channels: int, num_blocks: int, act_cfg: dict,
                 width: Callable[[str, int], int], prefix: str) -> None:
        super().__init__()
        blocks = []
        for i in range(num_blocks):
            name = f'{prefix}.main.2.{i}'
            blocks.append(
                SSLResidualBlock(
                    channels,
                    in_width=width(f'{name}.conv1.act_scale_pre', channels),
                    mid_width=width(f'{name}.conv1.act_scale', channels),
                    out_width=width(f'{name}.conv2.act_scale', channels)))
        self.main = nn.Sequential(
            nn.Conv2d(in_channels, channels, 3, 1, 1, bias=True),
            build_activation(act_cfg), nn.Sequential(*blocks))

    def forward(self, feat: torch.Tensor) -> torch.Tensor:
        return self.main(feat)


class GroupedPixelShuffle(nn.Module):
    """MMagic's ``PixelShufflePack`` whose conv scales whole pixel-shuffle groups (r^2 filters)."""

    def __init__(self, in_channels: int, out_units: int, factor: int) -> None:
        super().__init__()
        self.scale_factor = factor
        self.upsample_conv = ScaledConv2d(in_channels, out_units * factor**2, 3, group_size=factor**2)
        default_init_weights(self, 1)  # as MMagic's PixelShufflePack

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.pixel_shuffle(self.upsample_conv(x), self.scale_factor)


@MODELS.register_module()
class SSLBasicVSRNet(BasicVSRNet):
    """BasicVSR with SSL scales, RSC residual blocks and pixel-shuffle pruning groups.

    Args:
        mid_channels: width of the propagated hidden state (BasicVSR: 64).
        num_blocks: residual blocks per propagation branch (BasicVSR: 30).
        upscale_factor: 2**k or 3*2**k (BasicVSR: 4, two x2 pixel shuffles).
        hr_channels: width of the last upsampler and ``conv_hr`` (MMagic hard-codes 64).
        act_cfg: activation after the input conv and in the reconstruction head. LeakyReLU(0.1)
            as MMagic (needed to reproduce official weights); ``dict(type='ReLU')`` as SSL.
            Pruning is exact only for activations with act(0) == 0, which is checked.
        widths: kept units per scale vector, keyed by the scale's parameter name (e.g.
            ``'backward_resblocks.main.2.0.conv1.act_scale_pre': 17``); missing keys are full
            width. This is how a pruned model is rebuilt from its config alone.
        spynet_pretrained: optional local path of SPyNet weights (nothing is downloaded).

    The hidden state, the input convs and the fusion input always keep full width (RSC).
    SPyNet is never pruned.
    """

    def __init__(self,
                 mid_channels: int = 64,
                 num_blocks: int = 30,
                 upscale_factor: int = 4,
                 hr_channels: int = 64,
                 act_cfg: dict | None = None,
                 widths: dict[str, int] | None = None,
                 spynet_pretrained: str | None = None,
                 init_cfg: dict | None = None) -> None:
        # BasicVSRNet.__init__ hard-codes 64 channels and x4; we build our own layers and reuse
        # only its mirror check, flow computation and SPyNet.
        BaseModule.__init__(self, init_cfg)
        act_cfg = dict(DEFAULT_ACT if act_cfg is None else act_cfg)
        widths = dict(widths or {})
        self.arch = dict(mid_channels=mid_channels, num_blocks=num_blocks,
                         upscale_factor=upscale_factor, hr_channels=hr_channels,
                         act_cfg=copy.deepcopy(act_cfg), widths=dict(sorted(widths.items())))
        self.mid_channels = mid_channels
        self.num_blocks = num_blocks
        self.upscale_factor = upscale_factor
        # Full (unpruned) width of every scale vector, recorded while the layers are built.
        self.full_widths: dict[str, int] = {}

        def width(name: str, full: int) -> int:
            self.full_widths[name] = full
            return widths.get(name, full)

        self.spynet = SPyNet(pretrained=spynet_pretrained)
        self.backward_resblocks = PropagationBranch(mid_channels + 3, mid_channels, num_blocks,
                                                    act_cfg, width, 'backward_resblocks')
        self.forward_resblocks = PropagationBranch(mid_channels + 3, mid_channels, num_blocks,
                                                   act_cfg, width, 'forward_resblocks')

        fusion_width = width('fusion.act_scale', mid_channels)
        self.fusion = ScaledConv2d(2 * mid_channels, fusion_width, 1)
        in_width = fusion_width
        factors = shuffle_factors(upscale_factor)
        for k, factor in enumerate(factors, start=1):
            full = hr_channels if k == len(factors) else mid_channels
            units = width(f'upsample{k}.upsample_conv.act_scale', full)
            setattr(self, f'upsample{k}', GroupedPixelShuffle(in_width, units, factor))
            in_width = units
        hr_width = width('conv_hr.act_scale', hr_channels)
        self.conv_hr = ScaledConv2d(in_width, hr_width, 3)
        self.conv_last = nn.Conv2d(hr_width, 3, 3, 1, 1)
        self.img_upsample = nn.Upsample(
            scale_factor=upscale_factor, mode='bilinear', align_corners=False)
        self.lrelu = build_activation(act_cfg)
        if self.lrelu(torch.zeros(1)).item() != 0:
            raise ArgumentError('act_cfg', act_cfg, 'is not prunable: pruning needs an activation with act(0) == 0')
        unknown = set(widths) - set(self.full_widths)
        if unknown:
            raise ArgumentError('widths', {k: widths[k] for k in sorted(unknown)[:3]},
                                'has keys that name no scale vector of this architecture: use the config saved '
                                'with the checkpoint')

    # ------------------------------------------------------------------ pruning structure
    @property
    def upsamplers(self) -> list[GroupedPixelShuffle]:
        return [getattr(self, f'upsample{k}') for k in range(1, len(shuffle_factors(self.upscale_factor)) + 1)]

    def residual_blocks(self) -> Iterator[tuple[str, SSLResidualBlock]]:
        for branch in ('backward_resblocks', 'forward_resblocks'):
            for i, block in enumerate(getattr(self, branch).main[2]):
                yield f'{branch}.main.2.{i}', block

    def scaled_layers(self) -> Iterator[tuple[str, ScaledConv2d]]:
        for name, module in self.named_modules():
            if isinstance(module, ScaledConv2d):
                yield name, module

    def hidden_state_scales(self) -> list[list[str]]:
        """Per branch, the scale vectors indexed by hidden-state channel: what each residual
        block reads (conv1's inputs) and writes (conv2's filters). RSC lets each choose its own
        channels; ASSL-style pruning ties them (``pick_pruned(align_residual=True)``)."""
        return [[f'{name}.{scale}' for name, _ in self.residual_blocks() if name.startswith(branch)
                 for scale in ('conv1.act_scale_pre', 'conv2.act_scale')]
                for branch in ('backward_resblocks', 'forward_resblocks')]

    def input_producers(self) -> dict[str, str]:
        """Layer -> the scaled layer whose kept units are its input channels (the head chain and
        conv1 -> conv2). Layers not listed read full-width tensors (the hidden state, or the
        fusion input) or, for conv1, their own ``act_scale_pre``."""
        chain = ['fusion'] + [f'upsample{k}.upsample_conv' for k in range(1, len(self.upsamplers) + 1)]
        chain += ['conv_hr', 'conv_last']
        producers = {consumer: producer for producer, consumer in zip(chain, chain[1:])}
        for name, _ in self.residual_blocks():
            producers[f'{name}.conv2'] = f'{name}.conv1'
        return producers

    # ------------------------------------------------------------------ forward
    def forward(self, lrs: torch.Tensor, return_hidden: bool = False):
        """(n, t, 3, h, w) LR in [0, 1] -> (n, t, 3, s*h, s*w) SR.

        With ``return_hidden`` also returns ``{'backward': [...], 'forward': [...]}``: the
        propagated hidden states (after each trunk) at every time step, used by Temporal
        Finetuning.
        """
        n, t, _, h, w = lrs.size()
        self.check_if_mirror_extended(lrs)
        flows_forward, flows_backward = self.compute_flow(lrs)

        backward_feats = []
        feat_prop = lrs.new_zeros(n, self.mid_channels, h, w)
        for i in range(t - 1, -1, -1):
            flow = flows_backward[:, i] if i < t - 1 else None
            feat_prop = self.propagate(self.backward_resblocks, lrs[:, i], feat_prop, flow)
            backward_feats.append(feat_prop)
        backward_feats = backward_feats[::-1]

        outputs, forward_feats = [], []
        feat_prop = torch.zeros_like(feat_prop)
        for i in range(t):
            lr_curr = lrs[:, i]
            flow = None
            if i > 0:
                flow = flows_forward[:, i - 1] if flows_forward is not None else flows_backward[:, -i]
            feat_prop = self.propagate(self.forward_resblocks, lr_curr, feat_prop, flow)
            forward_feats.append(feat_prop)
            outputs.append(self.reconstruct(backward_feats[i], feat_prop, lr_curr))

        out = torch.stack(outputs, dim=1)
        if return_hidden:
            return out, {'backward': backward_feats, 'forward': forward_feats}
        return out

    @staticmethod
    def propagate(branch: PropagationBranch, lr: torch.Tensor, feat_prop: torch.Tensor,
                  flow: torch.Tensor | None) -> torch.Tensor:
        """One recurrent step: warp the hidden state to this frame (no flow at the first
        step), concatenate [frame, state] and run the branch."""
        if flow is not None:
            feat_prop = flow_warp(feat_prop, flow.permute(0, 2, 3, 1))
        return branch(torch.cat([lr, feat_prop], dim=1))

    def reconstruct(self, backward_feat: torch.Tensor, forward_feat: torch.Tensor,
                    lr: torch.Tensor) -> torch.Tensor:
        out = self.lrelu(self.fusion(torch.cat([backward_feat, forward_feat], dim=1)))
        for upsampler in self.upsamplers:
            out = self.lrelu(upsampler(out))
        out = self.conv_last(self.lrelu(self.conv_hr(out)))
        return out.add_(self.img_upsample(lr))  # conv output: safe to update in place

    # ------------------------------------------------------------------ conversion
    @classmethod
    def from_basicvsr(cls, net: BasicVSRNet) -> 'SSLBasicVSRNet':
        """An SSL model with unit scales computing exactly what an MMagic ``BasicVSRNet`` does."""
        if type(net) is not BasicVSRNet:
            raise TypeError(f'from_basicvsr expects mmagic BasicVSRNet, got {type(net).__name__}')
        model = cls(mid_channels=net.mid_channels,
                    num_blocks=len(net.backward_resblocks.main[2]),
                    upscale_factor=4,
                    hr_channels=net.conv_hr.out_channels,
                    act_cfg=DEFAULT_ACT)
        model.to(next(net.parameters()).device)
        missing, unexpected = model.load_state_dict(net.state_dict(), strict=False)
        bad = [k for k in missing if k.rsplit('.', 1)[-1] not in SSL_ONLY] + list(unexpected)
        if bad:
            raise RuntimeError(f'BasicVSRNet -> SSLBasicVSRNet: unmatched keys {bad[:5]}')
        return model
