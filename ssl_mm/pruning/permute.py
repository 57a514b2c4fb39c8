"""Reorder each propagation branch's hidden-state channels so that the residual blocks' read and
write sets become contiguous runs: a block whose set is one run reads it as a slice (a view) and
adds into it in place, instead of gathering and scattering (``SSLResidualBlock``).

The permutation is exact: every layer that reads or writes the hidden state is reordered with it
(the branch's input conv, each block's conv1 inputs and conv2 filters, the fusion conv's inputs),
so the network computes the same function (tests/test_pruning.py checks it on real frames).
Inference only: Temporal Finetuning compares hidden states channel by channel with its teacher,
so a network is reordered after finetuning, when it is exported or run (``ssl-mm export/infer``,
``benchmarks/prune_speed.py``), not in the pipeline's saved files.

Finding the order that makes the most of a branch's 2 x num_blocks sets contiguous is the
consecutive-ones problem; :func:`hidden_state_order` takes the best of a few lexicographic orders
(channels sorted by their membership in the sets, the sets taken in a few orders).
"""
from __future__ import annotations

import torch

from ..models.ssl_basicvsr_net import SSLBasicVSRNet

BRANCHES = ('backward_resblocks', 'forward_resblocks')


def runs(idx: torch.Tensor) -> int:
    """How many contiguous ascending runs the index set ``idx`` (sorted) is made of."""
    if idx.numel() == 0:
        return 0
    return 1 + int((idx[1:] != idx[:-1] + 1).sum())


def gathers(net: SSLBasicVSRNet) -> dict[str, int]:
    """The gathers (reads) and scatters (writes) the residual blocks still do: sets that are not
    one contiguous run (a full-width set is one run)."""
    blocks = [block for _, block in net.residual_blocks()]
    return {'gathers': sum(runs(b.in_idx.cpu()) > 1 for b in blocks),
            'scatters': sum(runs(b.out_idx.cpu()) > 1 for b in blocks)}


def _total_runs(sets: list[torch.Tensor], position: torch.Tensor) -> int:
    return sum(runs(torch.sort(position[s]).values) for s in sets)


def hidden_state_order(sets: list[torch.Tensor], channels: int) -> torch.Tensor:
    """An order of ``channels`` (new position -> old channel) under which ``sets`` split into
    few runs: channels sorted by their membership vector over the sets (members first), with the
    sets in module order, in reverse, or by size; the order with the fewest runs in total wins
    (the identity, too)."""
    member = torch.zeros(len(sets), channels, dtype=torch.long)
    for i, s in enumerate(sets):
        member[i, s] = 1
    set_orders = [list(range(len(sets))), list(reversed(range(len(sets)))),
                  sorted(range(len(sets)), key=lambda i: -len(sets[i]))]
    candidates = [torch.arange(channels)]
    for order in set_orders:
        keys = member[order]  # lexicographic, members (1) before non-members, stable on the channel id
        perm = torch.arange(channels)
        for row in reversed(keys):
            perm = perm[torch.sort(-row[perm], stable=True).indices]
        candidates.append(perm)

    def cost(perm: torch.Tensor) -> int:
        position = torch.empty(channels, dtype=torch.long)
        position[perm] = torch.arange(channels)
        return _total_runs(sets, position)
    return min(candidates, key=cost)


@torch.no_grad()
def contiguous_hidden_state(net: SSLBasicVSRNet) -> SSLBasicVSRNet:
    """A copy of ``net`` whose branches' hidden-state channels are reordered by
    :func:`hidden_state_order`; same function, fewer gathers and scatters (:func:`gathers`).
    Any other network is returned as it is."""
    if not isinstance(net, SSLBasicVSRNet):
        return net
    state = {k: v.clone() for k, v in net.state_dict().items()}
    channels = net.mid_channels
    for b, branch in enumerate(BRANCHES):
        blocks = [(name, block) for name, block in net.residual_blocks() if name.startswith(branch)]
        sets = [s.cpu() for _, block in blocks for s in (block.in_idx, block.out_idx)]
        perm = hidden_state_order(sets, channels)
        position = torch.empty(channels, dtype=torch.long)
        position[perm] = torch.arange(channels)
        entry = f'{branch}.main.0'  # conv([frame, hidden state]) -> hidden state
        state[f'{entry}.weight'] = state[f'{entry}.weight'][perm]
        state[f'{entry}.bias'] = state[f'{entry}.bias'][perm]
        weight = state[f'{entry}.weight']
        state[f'{entry}.weight'] = torch.cat([weight[:, :3], weight[:, 3:][:, perm]], dim=1)
        for name, block in blocks:
            new_in = position[block.in_idx.cpu()]
            order = torch.sort(new_in).indices  # conv1's input columns follow their channels
            state[f'{name}.in_idx'] = new_in[order].to(block.in_idx.device)
            state[f'{name}.conv1.weight'] = state[f'{name}.conv1.weight'][:, order]
            for key in ('act_scale_pre', 'act_scale_pre_mask'):
                state[f'{name}.conv1.{key}'] = state[f'{name}.conv1.{key}'][order]
            new_out = position[block.out_idx.cpu()]
            order = torch.sort(new_out).indices  # conv2's filters follow their channels
            state[f'{name}.out_idx'] = new_out[order].to(block.out_idx.device)
            for key in ('weight', 'bias', 'act_scale', 'act_scale_mask'):
                state[f'{name}.conv2.{key}'] = state[f'{name}.conv2.{key}'][order]
        columns = torch.arange(2 * channels)  # fusion reads [backward state, forward state]
        columns[b * channels:(b + 1) * channels] = b * channels + perm
        state['fusion.weight'] = state['fusion.weight'][:, columns]
    reordered = type(net)(**net.arch).to(next(net.parameters()).device)
    reordered.load_state_dict(state, strict=True)
    return reordered.train(net.training)
