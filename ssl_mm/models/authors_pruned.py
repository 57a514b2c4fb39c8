"""The SSL authors' pruned checkpoint (``model_prune_final.pt``) as a pruned SSL-BasicVSR.

What their pruner saves (``Pruner._save_model``): ``{'pruned_wg', 'kept_wg', 'pruned_wg_pre',
'kept_wg_pre', 'model', 'state_dict'}``.

* ``kept_wg``: layer name -> kept filters (for ``upconv1/2``: kept pixel-shuffle groups);
  ``kept_wg_pre``: residual ``conv1`` -> kept input channels. Under DDP (their 8-GPU runs) layer
  names and ``state_dict`` keys start with ``module.``.
* ``state_dict``: BasicSR names, scales already folded into the sliced weights (the final "V3"
  model). A ``model_prune_optimization.pt`` ("V2", before finetuning) still has each residual
  ``conv2`` at full width with its masked scale; both load.
* The lists are sorted. Their ``get_kept_filter_channel`` (``basicsr/pruner/utils.py``) ends
  with ``kept_filter.sort(); kept_chl.sort()``, in place, on the very lists stored in ``kept_wg``
  / ``kept_wg_pre``, before every V2 and V3 slice: the weights are sliced in ascending channel
  order and the saved lists are sorted, so the file is consistent (conv2 writes the channels its
  dense model wrote). The converted model gathers and scatters the hidden state with those lists
  (``in_idx`` / ``out_idx``), sorted once more here so that a hand-made file with the same
  weights but unsorted lists converts alike.
* ``model`` is their pickled network (BasicSR classes). It is not needed: the allow-list loader
  (:mod:`ssl_mm.safe_checkpoint`) puts an inert stand-in in its place, so no code in the file
  runs and BasicSR need not be installed.
"""
from __future__ import annotations

import re
from pathlib import Path

import torch

from ..choices import ACTIVATIONS
from ..errors import CheckpointError
from ..pruning.checkpoint import state_mismatch
from ..safe_checkpoint import load_checkpoint
from .foreign import basicsr_name
from .ssl_basicvsr_net import SSL_ONLY, SSLBasicVSRNet

REQUIRED = ('state_dict', 'kept_wg', 'kept_wg_pre')
HEAD = {'fusion': 'fusion', 'upconv1': 'upsample1.upsample_conv', 'upconv2': 'upsample2.upsample_conv',
        'conv_hr': 'conv_hr'}  # their pruned reconstruction layers -> ours
HR_CHANNELS = 64  # their upconv2 / conv_hr are hard-coded to 64 units (basicvsr_arch.py)


def read_checkpoint(path: Path) -> tuple[dict, dict, dict]:
    """(state_dict, kept_wg, kept_wg_pre) of the file, ``module.`` prefixes removed."""
    # Its tensors and index lists load; its pickled network becomes an inert stand-in.
    checkpoint = load_checkpoint(path)
    if not isinstance(checkpoint, dict) or not all(isinstance(checkpoint.get(k), dict) for k in REQUIRED):
        raise CheckpointError(f'{path}: not an SSL-authors pruned checkpoint (a dict with {", ".join(REQUIRED)}); '
                              f'pass their model_prune_final.pt')
    return tuple({k.removeprefix('module.'): v for k, v in checkpoint[key].items()} for key in REQUIRED)


def _indices(values) -> list[int]:
    return sorted(int(i) for i in values)


def authors_pruned_network(path: str | Path) -> SSLBasicVSRNet:
    """The authors' pruned network as an SSLBasicVSRNet (ReLU, as theirs; unit scales)."""
    path = Path(path)
    state, kept, kept_pre = read_checkpoint(path)
    blocks = sorted({int(m[1]) for k in state if (m := re.match(r'backward_trunk\.main\.2\.(\d+)\.conv1\.weight$', k))})
    if 'backward_trunk.main.0.weight' not in state or not blocks:
        raise CheckpointError(f'{path}: its state_dict has no BasicSR BasicVSR trunk (backward_trunk.main.*): '
                              f'pass the authors\' model_prune_final.pt')
    widths, index_sets, weights = {}, {}, {}
    try:
        for theirs, ours in (('backward_trunk', 'backward_resblocks'), ('forward_trunk', 'forward_resblocks')):
            for i in blocks:
                src, dst = f'{theirs}.main.2.{i}', f'{ours}.main.2.{i}'
                reads, writes = _indices(kept_pre[f'{src}.conv1']), _indices(kept[f'{src}.conv2'])
                widths.update({f'{dst}.conv1.act_scale_pre': len(reads), f'{dst}.conv1.act_scale': len(kept[f'{src}.conv1']),
                               f'{dst}.conv2.act_scale': len(writes)})
                index_sets.update({f'{dst}.in_idx': reads, f'{dst}.out_idx': writes})
                scale = state.pop(f'{src}.conv2.act_scale', None)
                if scale is not None:  # V2: conv2 still writes every channel, its scale zero where pruned
                    scale = scale.flatten()
                    weights[f'{dst}.conv2.weight'] = (state.pop(f'{src}.conv2.weight') * scale.view(-1, 1, 1, 1))[writes]
                    weights[f'{dst}.conv2.bias'] = (state.pop(f'{src}.conv2.bias') * scale)[writes]
        widths.update({f'{ours}.act_scale': len(kept[theirs]) for theirs, ours in HEAD.items()})
    except KeyError as err:
        raise CheckpointError(f'{path}: kept_wg / kept_wg_pre have no entry {err}: the file is not a complete '
                              f'SSL-authors pruned BasicVSR') from None
    weights.update({basicsr_name(k): v for k, v in state.items()})
    arch = dict(mid_channels=weights['backward_resblocks.main.0.weight'].shape[0], num_blocks=len(blocks),
                upscale_factor=4, hr_channels=HR_CHANNELS, act_cfg=ACTIVATIONS['relu'])
    full = SSLBasicVSRNet(**arch).full_widths  # as ssl-mm's own pruned configs: only the narrowed vectors
    net = SSLBasicVSRNet(**arch, widths={k: v for k, v in widths.items() if v != full.get(k)})
    own = net.state_dict()
    identity = {k: v for k, v in own.items() if k.rsplit('.', 1)[-1] in SSL_ONLY}  # unit scales, open masks
    state = {**identity, **{k: torch.tensor(v) for k, v in index_sets.items()}, **weights}
    why = state_mismatch(net, state)
    if why:
        raise CheckpointError(f'{path}: its weights do not fit its kept index lists ({why}): the file is damaged '
                              f'or not an SSL-authors pruned BasicVSR')
    net.load_state_dict(state)
    return net.eval()
