"""Turn a sparsified SSL model into a physically smaller one (or a same-shape masked one).

What goes is decided before, as a mask dict (:func:`~.groups.pick_pruned`, or the set the
regulariser penalised); this module only cuts.
"""
from __future__ import annotations

import copy

import torch

from .contract import PrunableNetwork
from .groups import scale_groups


def _kept(mask: torch.Tensor) -> torch.Tensor:
    return (~mask).nonzero().flatten()


def _unit_rows(units: torch.Tensor, group_size: int) -> torch.Tensor:
    """Filter indices of kept units: unit u owns filters u*g ... u*g+g-1 (pixel-shuffle group)."""
    return (units[:, None] * group_size + torch.arange(group_size, device=units.device)).flatten()


def prune(model: PrunableNetwork, pruned: dict[str, torch.Tensor], physical: bool = True) -> PrunableNetwork:
    """Remove the units ``pruned`` marks (``{scale name: bool mask, True = pruned}``, one entry
    per scale vector) from ``model``, which is left untouched.

    ``physical=True``: a new, smaller network of the same class, built from ``model.arch`` plus
    ``widths``; scales are folded into the sliced weights (and reset to 1), each residual block's
    read/write sets become its ``in_idx`` / ``out_idx`` buffers. Works on an already-pruned model
    too (index sets compose). ``physical=False``: a same-shape copy whose pruned scales and masks
    are 0. Both compute the same function.
    """
    groups = {g.name: g for g in scale_groups(model)}
    if set(pruned) != set(groups):
        raise ValueError(f'pruned masks do not match the model scale vectors: '
                         f'{sorted(set(pruned) ^ set(groups))[:3]}')

    if not physical:
        masked = copy.deepcopy(model)
        for group in scale_groups(masked):
            with torch.no_grad():
                group.scale[pruned[group.name]] = 0
                group.mask[pruned[group.name]] = 0
        return masked

    kept = {name: _kept(mask.cpu()) for name, mask in pruned.items()}
    device = next(model.parameters()).device
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    producers = model.input_producers()

    with torch.no_grad():
        for layer_name, layer in model.scaled_layers():
            weight, bias = layer.folded_weight_bias()
            rows = _unit_rows(kept[f'{layer_name}.act_scale'], layer.group_size).to(device)
            if layer.act_scale_pre is not None:
                cols = kept[f'{layer_name}.act_scale_pre']
            elif layer_name in producers:
                cols = kept[f'{producers[layer_name]}.act_scale']
            else:
                cols = torch.arange(layer.in_channels)
            state[f'{layer_name}.weight'] = weight[rows][:, cols.to(device)]
            state[f'{layer_name}.bias'] = bias[rows]
            for suffix in ('act_scale', 'act_scale_pre'):
                if f'{layer_name}.{suffix}' in kept:
                    ones = torch.ones(len(kept[f'{layer_name}.{suffix}']), device=device)
                    state[f'{layer_name}.{suffix}'] = ones
                    state[f'{layer_name}.{suffix}_mask'] = ones.clone()
        # Unscaled consumers (conv_last) lose the input channels their producer lost.
        for consumer, producer in producers.items():
            if f'{consumer}.act_scale' not in kept:
                cols = kept[f'{producer}.act_scale'].to(device)
                state[f'{consumer}.weight'] = state[f'{consumer}.weight'][:, cols]
        for block_name, block in model.residual_blocks():
            state[f'{block_name}.in_idx'] = block.in_idx[kept[f'{block_name}.conv1.act_scale_pre'].to(device)]
            state[f'{block_name}.out_idx'] = block.out_idx[kept[f'{block_name}.conv2.act_scale'].to(device)]

    # Only record what differs from the unpruned architecture, so configs stay short.
    widths = {name: len(idx) for name, idx in kept.items() if len(idx) != model.full_widths[name]}
    compact = type(model)(**{**model.arch, 'widths': widths}).to(device)
    compact.load_state_dict(state, strict=True)
    return compact
