"""Pruning groups: one per SSL scale vector, and the global ranking that picks units to prune.

A *unit* is one entry of a scale vector: a filter, a pixel-shuffle group of r^2 filters, or an
input channel of a residual block's conv1 (what the block reads from the hidden state). Ranking,
the penalty, masking and slicing are all small functions over this list.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

from ..criteria import CRITERIA, SCOPES, check_criterion
from ..errors import ArgumentError
from ..models.scaled_conv import ScaledConv2d
from .contract import PrunableNetwork


@dataclass(frozen=True)
class ScaleGroup:
    """One scale vector: ``name`` is its parameter name (``<layer>.act_scale[_pre]``)."""
    name: str
    layer_name: str
    layer: ScaledConv2d
    is_input: bool  # act_scale_pre (conv1 input channels) rather than output units

    @property
    def scale(self) -> nn.Parameter:
        return self.layer.act_scale_pre if self.is_input else self.layer.act_scale

    @property
    def mask(self) -> torch.Tensor:
        return self.layer.act_scale_pre_mask if self.is_input else self.layer.act_scale_mask

    def effective_scale(self) -> torch.Tensor:
        return self.scale * self.mask

    def scores(self, criterion: str = 'scale') -> torch.Tensor:
        """Importance per unit by the scorer ``CRITERIA[criterion]`` (low scores go first)."""
        with torch.no_grad():
            return CRITERIA[check_criterion(criterion)](self)


def scale_groups(model: PrunableNetwork) -> list[ScaleGroup]:
    """Every scale vector of the model, in module order (the tie-breaking order)."""
    groups = []
    for layer_name, layer in model.scaled_layers():
        if layer.act_scale_pre is not None:
            groups.append(ScaleGroup(f'{layer_name}.act_scale_pre', layer_name, layer, True))
        groups.append(ScaleGroup(f'{layer_name}.act_scale', layer_name, layer, False))
    if not groups:
        raise ValueError(f'{type(model).__name__} has no ScaledConv2d layers to prune')
    return groups


def check_ratio(ratio: float) -> float:
    if not isinstance(ratio, (int, float)) or not 0 < ratio < 1:
        raise ArgumentError('ratio', ratio, 'is outside (0, 1): set it to e.g. 0.5')
    return float(ratio)



def _selection_vectors(model: PrunableNetwork, groups: list[ScaleGroup], align_residual: bool) -> list[list[str]]:
    """The vectors units are chosen from, in module order: each scale vector on its own, except
    with ``align_residual`` (ASSL), where every vector that reads or writes a branch's hidden
    state is tied into one: a hidden-state channel goes from all of them or from none."""
    ties = model.hidden_state_scales() if align_residual else []
    tie_of = {name: tuple(tie) for tie in ties for name in tie}
    vectors, seen = [], set()
    for group in groups:
        vector = list(tie_of.get(group.name, (group.name,)))
        if vector[0] not in seen:
            seen.update(vector)
            vectors.append(vector)
    return vectors


def pick_pruned(model: PrunableNetwork,
                ratio: float,
                criterion: str = 'scale',
                min_keep: int = 1,
                scope: str = 'global',
                align_residual: bool = False,
                align: int = 1) -> dict[str, torch.Tensor]:
    """Pick the units to prune; returns ``{scale name: bool mask, True = pruned}``.

    ``scope='global'`` (SSL): the ``ceil(ratio * N)`` lowest-scoring of all N units go. Each
    vector first protects its ``min_keep`` best units (no layer is cut to nothing); the rest
    compete globally. Ties are broken by position (stable sort over the vectors in module
    order), so a model whose scales are all equal still gets exactly the requested number (the
    released code's strict ``<`` threshold picked none). ``scope='layer'`` (L1-norm pruning,
    Li et al.): every vector loses ``ceil(ratio * n)`` of its own n units (at most n - min_keep).

    ``align_residual`` (ASSL): the hidden-state channels are chosen once per branch for all
    residual blocks (scored by the mean over the tied vectors, counted once per vector).

    ``align`` > 1: every vector keeps a multiple of ``align`` units (at least ``align``, or its
    full width), at the same budget: see :func:`_aligned`.
    """
    check_ratio(ratio)
    if isinstance(align, bool) or not isinstance(align, int) or align < 1:
        raise ArgumentError('align', align, 'is not a positive integer: use 1 (no alignment) or e.g. 16')
    check_criterion(criterion)
    if scope not in SCOPES:
        raise ArgumentError('scope', scope, f'is unknown: use one of {list(SCOPES)}')
    groups = scale_groups(model)
    scores = {g.name: g.scores(criterion).cpu() for g in groups}  # picked on CPU, masks go to the scales' device
    vectors = _selection_vectors(model, groups, align_residual)
    vector_scores = [torch.stack([scores[n] for n in names]).mean(0) for names in vectors]
    pruned_units = []
    if scope == 'layer':
        for names, score in zip(vectors, vector_scores):
            count = math.ceil(ratio * score.numel())
            if count > score.numel() - min_keep:
                raise ArgumentError('ratio', ratio, f'would remove every unit of {names[0]} ({score.numel()} units, '
                                    f'min_keep={min_keep}) in per-layer pruning: use a smaller {{name}}')
            mask = torch.zeros(score.numel(), dtype=torch.bool)
            mask[torch.sort(score, stable=True).indices[:count]] = True
            pruned_units.append(mask)
    else:
        protected = []
        for score in vector_scores:
            keep = torch.zeros(score.numel(), dtype=torch.bool)
            keep[torch.sort(score, descending=True, stable=True).indices[:min_keep]] = True
            protected.append(keep)
        # A tied unit stands for one entry in each of its vectors.
        weights = torch.cat([torch.full((s.numel(),), len(names)) for s, names in zip(vector_scores, vectors)])
        flat, protected_flat = torch.cat(vector_scores), torch.cat(protected)
        target = math.ceil(ratio * int(weights.sum()))
        candidates = (~protected_flat).nonzero().flatten()
        order = candidates[torch.sort(flat[candidates], stable=True).indices]
        before = torch.cumsum(weights[order], 0) - weights[order]
        chosen = order[before < target]
        if int(weights[chosen].sum()) < target:
            feasible = int(weights[candidates].sum()) / int(weights.sum())
            raise ArgumentError('ratio', ratio, f'would remove every unit of some layers (each keeps min_keep='
                                f'{min_keep}): use {{name}} <= {math.floor(feasible * 1000) / 1000}')
        pruned_flat = torch.zeros(flat.numel(), dtype=torch.bool)
        pruned_flat[chosen] = True
        pruned_units = torch.split(pruned_flat, [s.numel() for s in vector_scores])
    if align > 1:  # per layer, L1 norms of different layers are not comparable: each vector relative to its mean
        relative = [s / s.mean().clamp_min(1e-12) for s in vector_scores] if scope == 'layer' else vector_scores
        pruned_units = _aligned(relative, list(pruned_units), vectors, align, prunable_macs(model))
    masks = {name: mask for names, mask in zip(vectors, pruned_units) for name in names}
    return {g.name: masks[g.name].to(g.scale.device) for g in groups}


def prunable_macs(model: PrunableNetwork) -> Callable[[dict[str, int]], float]:
    """MACs per LR frame of the layers pruning narrows, as a function of the kept units per scale
    vector: each conv's dense MACs (kernel x input x output channels x output pixels, measured
    with forward hooks on a small clip) scaled by its kept fraction of input and of output
    channels. Exact for convolutions (bilinear in the widths), and fast enough to ask in a loop."""
    producers, full = model.input_producers(), model.full_widths
    pixels, convs = {}, dict(model.named_modules())

    def record(name: str):
        def hook(_module, _inputs, output) -> None:
            pixels.setdefault(name, output.shape[-2:].numel())
        return hook

    hooks = [module.register_forward_hook(record(name)) for name, module in convs.items() if isinstance(module, nn.Conv2d)]
    was_training = model.training  # the search calls this on the network it trains
    try:
        with torch.no_grad():
            param = next(model.parameters())
            model.eval()(torch.rand(1, 2, 3, 32, 32, dtype=param.dtype, device=param.device))
    finally:
        model.train(was_training)
        for hook in hooks:
            hook.remove()
    terms = []  # (dense MACs, input vector or None, output vector or None)
    for name, conv in convs.items():
        if not isinstance(conv, nn.Conv2d) or name not in pixels:
            continue
        out_vector = f'{name}.act_scale' if f'{name}.act_scale' in full else None
        in_vector = (f'{name}.act_scale_pre' if f'{name}.act_scale_pre' in full
                     else f'{producers[name]}.act_scale' if name in producers else None)
        if in_vector or out_vector:
            macs = conv.weight[0].numel() * conv.out_channels * pixels[name]
            terms.append((macs, in_vector, out_vector))

    def macs(kept: dict[str, int]) -> float:
        def fraction(vector):
            return 1.0 if vector is None else kept.get(vector, full[vector]) / full[vector]
        return sum(m * fraction(i) * fraction(o) for m, i, o in terms)
    return macs


def _aligned(scores: list[torch.Tensor], pruned: list[torch.Tensor], vectors: list[list[str]], align: int,
             macs: Callable[[dict[str, int]], float]) -> list[torch.Tensor]:
    """The pick ``pruned`` (a mask per vector) with each vector keeping a multiple of ``align``
    units (at least ``align``; a vector narrower than that, or kept whole, keeps its full width),
    its best by score. Convolutions run in blocks of output channels (16 floats on AVX-512
    oneDNN, tensor-core tiles on GPUs): a 33-filter conv costs what a 48-filter one does.

    Same budget: every vector is first rounded down to the multiple below its kept count; then,
    those whose next units score highest first, vectors are rounded up while that brings the
    MACs (``macs`` of the kept units per scale vector) closer to the pick's. So no vector moves by
    a block or more, and the MACs land near the pick's."""
    kept = [int((~m).sum()) for m in pruned]
    widths = [s.numel() for s in scores]
    down = [w if w <= align else min(w, max(align, k // align * align)) for k, w in zip(kept, widths)]
    up = [w if w <= align else min(w, max(align, -(-k // align) * align)) for k, w in zip(kept, widths)]
    orders = [torch.sort(s, descending=True, stable=True).indices for s in scores]

    def kept_units(counts: list[int]) -> dict[str, int]:
        return {name: count for names, count in zip(vectors, counts) for name in names}

    target, final = macs(kept_units(kept)), list(down)

    def gap_with(i: int) -> float:  # MACs over the pick's, with vector i rounded up too
        return macs(kept_units(final[:i] + [up[i]] + final[i + 1:])) - target

    rising = sorted((i for i in range(len(scores)) if up[i] > down[i]),
                    key=lambda i: -float(scores[i][orders[i][down[i]:up[i]]].mean()))
    for i in rising:  # best next units first, up to the pick's MACs
        if gap_with(i) <= 0:
            final[i] = up[i]
    left = [i for i in rising if final[i] == down[i]]
    if left:  # then the one step over that lands closest, if it lands closer than staying under
        i = min(left, key=lambda j: abs(gap_with(j)))
        if abs(gap_with(i)) < abs(macs(kept_units(final)) - target):
            final[i] = up[i]
    out = []
    for order, count, mask in zip(orders, final, pruned):
        aligned = torch.ones_like(mask)
        aligned[order[:count]] = False
        out.append(aligned)
    return out


def kept_fraction(pruned: dict[str, torch.Tensor]) -> float:
    total = sum(m.numel() for m in pruned.values())
    return 1 - sum(int(m.sum()) for m in pruned.values()) / total
