"""Reuse SPyNet's optical flows across networks and stages that share one frozen SPyNet.

SPyNet is never pruned, and on the default profile every model after the dense one keeps the
dense model's SPyNet frozen, so all the networks of one seed compute the same flows on the same
input. That holds for test clips (evaluate) and for training batches too: every training stage
of a seed draws the same batches in the same order (one sampler seed, one augmentation seed), so
sparsify, finetune and lite recompute the flows of the first iterations in every cell. SPyNet is
most of a small network's cost (39 of 47 GMACs per frame on the default profile; about a quarter
of a finetune iteration), so a cache saves most of that.

Entries are keyed by the SPyNet weights and the exact input tensor, so a different SPyNet or
input never hits and a stale entry cannot exist; a hit returns the very tensors the computation
gives, so outputs and training are bit-identical with or without it. The cache lives under
work_dirs/ (git-ignored, not a DVC output: deleting it only costs time).
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import torch
from mmengine.hooks import Hook
from mmengine.registry import HOOKS

from ..errors import ParamsError
from ..io import atomic_path
from ..runtime import editor_of

FLOW_CACHE = Path('work_dirs') / 'flow_cache'


def _digest(*tensors: torch.Tensor) -> str:
    h = hashlib.sha256()
    for t in tensors:
        h.update(f'{t.dtype}{tuple(t.shape)}'.encode())
        h.update(t.detach().cpu().numpy().tobytes())  # C-order bytes, whatever the strides
    return h.hexdigest()[:32]


def cache_flows(net: torch.nn.Module, cache_dir: str | Path = FLOW_CACHE) -> torch.nn.Module:
    """``net`` (a BasicVSR-style network with ``compute_flow``) with its flows read from, or
    written to, ``cache_dir``; its outputs are unchanged. Its SPyNet must not change afterwards."""
    compute_flow, cache_dir = net.compute_flow, Path(cache_dir)
    spynet = _digest(*net.spynet.state_dict().values())

    def cached_compute_flow(lrs: torch.Tensor):
        path = cache_dir / spynet / f'{_digest(lrs)}.pt'
        if path.is_file():
            return torch.load(path, weights_only=True)
        flows = compute_flow(lrs)
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:
            torch.save(flows, tmp)
        return flows

    net.compute_flow = cached_compute_flow
    return net


def uncache_flows(net: torch.nn.Module) -> torch.nn.Module:
    """``net`` computing its flows again (undoes ``cache_flows``)."""
    net.__dict__.pop('compute_flow', None)
    return net


def _networks(editor) -> list[torch.nn.Module]:
    """The networks an editor runs on each batch: its generator and, with Temporal Finetuning,
    the frozen teacher (same SPyNet, same input, so the same flows)."""
    return [net for net in (editor.generator, getattr(editor, 'teacher', None)) if net is not None]


@HOOKS.register_module()
class SharedFrozenSpyNetFlowsHook(Hook):
    """Training with SPyNet frozen throughout (``fix_iter >= max_iters``): read its flows from the
    cache that the other stages of the seed fill (the default profile's sparsify, finetune and
    lite stages). Not for the paper profile: its batches would fill a disk."""

    def __init__(self, cache_dir: str | Path = FLOW_CACHE):
        self.cache_dir = cache_dir

    def before_train(self, runner) -> None:  # after the checkpoint is loaded, so the key is its SPyNet
        editor = editor_of(runner)
        if editor.fix_iter < runner.max_iters:
            raise ParamsError(f'{type(self).__name__} needs SPyNet frozen for the whole run, but '
                              f'model.train_cfg.fix_iter={editor.fix_iter} < max_iters={runner.max_iters}: '
                              f'remove the hook or raise fix_iter')
        for net in _networks(editor):
            cache_flows(net, self.cache_dir)

    def after_train(self, runner) -> None:
        # The trained network is timed next (CPU speed-up): the cache would hide SPyNet's cost.
        for net in _networks(editor_of(runner)):
            uncache_flows(net)
