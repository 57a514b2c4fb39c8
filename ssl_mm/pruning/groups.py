"""Pruning groups: one per SSL scale vector, and the global ranking that picks units to prune.

A *unit* is one entry of a scale vector: a filter, a pixel-shuffle group of r^2 filters, or an
input channel of a residual block's conv1 (what the block reads from the hidden state). Ranking,
the penalty, masking and slicing are all small functions over this list.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

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
                align_residual: bool = False) -> dict[str, torch.Tensor]:
    """Pick the units to prune; returns ``{scale name: bool mask, True = pruned}``.

    ``scope='global'`` (SSL): the ``ceil(ratio * N)`` lowest-scoring of all N units go. Each
    vector first protects its ``min_keep`` best units (no layer is cut to nothing); the rest
    compete globally. Ties are broken by position (stable sort over the vectors in module
    order), so a model whose scales are all equal still gets exactly the requested number (the
    released code's strict ``<`` threshold picked none). ``scope='layer'`` (L1-norm pruning,
    Li et al.): every vector loses ``ceil(ratio * n)`` of its own n units (at most n - min_keep).

    ``align_residual`` (ASSL): the hidden-state channels are chosen once per branch for all
    residual blocks (scored by the mean over the tied vectors, counted once per vector).
    """
    check_ratio(ratio)
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
    masks = {name: mask for names, mask in zip(vectors, pruned_units) for name in names}
    return {g.name: masks[g.name].to(g.scale.device) for g in groups}


def round_kept(model: PrunableNetwork, pruned: dict[str, torch.Tensor], round_to: int,
               criterion: str = 'scale') -> dict[str, torch.Tensor]:
    """Give back each vector's best pruned units until its kept count is a multiple of
    ``round_to`` (or full width). Convolutions run faster on channel counts that are multiples
    of the SIMD width (16 floats with AVX-512; see ``benchmarks/prune_speed.py``), at the cost
    of pruning fewer units than asked. ``round_to=1`` returns ``pruned`` as it is."""
    if isinstance(round_to, bool) or not isinstance(round_to, int) or round_to < 1:
        raise ArgumentError('round_to', round_to, 'is not a positive integer: use 1 (no rounding) or e.g. 16')
    if round_to == 1:
        return dict(pruned)
    rounded = {}
    for group in scale_groups(model):
        mask, score = pruned[group.name].clone().cpu(), group.scores(criterion).cpu()
        give_back = -int((~mask).sum()) % round_to
        pruned_idx = mask.nonzero().flatten()
        best = pruned_idx[torch.sort(score[pruned_idx], descending=True, stable=True).indices]
        mask[best[:give_back]] = False
        rounded[group.name] = mask.to(pruned[group.name].device)
    return rounded


def kept_fraction(pruned: dict[str, torch.Tensor]) -> float:
    total = sum(m.numel() for m in pruned.values())
    return 1 - sum(int(m.sum()) for m in pruned.values()) / total
