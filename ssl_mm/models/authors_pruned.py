"""The SSL authors' pruned checkpoint (``model_prune_final.pt``) as a pruned SSL-BasicVSR.

What their pruner saves (``Pruner._save_model``): ``{'pruned_wg', 'kept_wg', 'pruned_wg_pre',
'kept_wg_pre', 'model', 'state_dict'}``.

* ``kept_wg``: layer name -> kept filters (for ``upconv1/2``: kept pixel-shuffle groups);
  ``kept_wg_pre``: residual ``conv1`` -> kept input channels. Under DDP (their 8-GPU runs) layer
  names and ``state_dict`` keys start with ``module.``.
* ``state_dict``: BasicSR names, scales already folded into the sliced weights (the final "V3"
  model). A ``model_prune_optimization.pt`` ("V2", before finetuning) still has each residual
  ``conv2`` at full width with its masked scale; both load.
* The lists are in ascending score order, not sorted. Weights were sliced in that order, but
  their network gathers and scatters the hidden state with *sorted* lists (its V3 forward and
  ``test_prune_l1.py``), and so does the converted model (``in_idx`` / ``out_idx``): it computes
  what the authors' released model computes.
* ``model`` is their pickled network (BasicSR classes). It is not needed: a stand-in takes its
  place while the file is read, so BasicSR need not be installed.
"""
from __future__ import annotations

import pickle
import re
import types
from pathlib import Path

import torch

from ..errors import CheckpointError
from ..pruning.checkpoint import state_mismatch
from .foreign import ACTIVATIONS, basicsr_name
from .ssl_basicvsr_net import SSL_ONLY, SSLBasicVSRNet

REQUIRED = ('state_dict', 'kept_wg', 'kept_wg_pre')
HEAD = {'fusion': 'fusion', 'upconv1': 'upsample1.upsample_conv', 'upconv2': 'upsample2.upsample_conv',
        'conv_hr': 'conv_hr'}  # their pruned reconstruction layers -> ours
HR_CHANNELS = 64  # their upconv2 / conv_hr are hard-coded to 64 units (basicvsr_arch.py)


class _StandIn:
    """Takes the place of a pickled network (or any class that cannot be imported here)."""

    def __init__(self, *args, **kwargs) -> None:
        pass

    def __setstate__(self, state) -> None:
        pass


class _NetworksSkipped(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        try:
            found = super().find_class(module, name)
        except (ImportError, AttributeError):
            return _StandIn
        return _StandIn if isinstance(found, type) and issubclass(found, torch.nn.Module) else found


# torch.load's pickle_module: the zip format uses Unpickler, the legacy format load as well.
_PICKLE = types.ModuleType('pickle_networks_skipped')
_PICKLE.Unpickler, _PICKLE.load = _NetworksSkipped, lambda f, **kw: _NetworksSkipped(f, **kw).load()


def read_checkpoint(path: Path) -> tuple[dict, dict, dict]:
    """(state_dict, kept_wg, kept_wg_pre) of the file, ``module.`` prefixes removed."""
    try:
        # A file the user named; its tensors and index lists load, its network objects do not.
        checkpoint = torch.load(path, map_location='cpu', weights_only=False, pickle_module=_PICKLE)
    except Exception as err:
        raise CheckpointError(f'{path}: not a readable checkpoint ({type(err).__name__}); it is corrupt or '
                              f'truncated: fetch it again') from None
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
