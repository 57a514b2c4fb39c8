"""Reuse SPyNet's optical flows across networks that share one SPyNet.

SPyNet is never pruned, and on the default profile every model after the dense one keeps the
dense model's SPyNet frozen, so all the networks of one seed compute the same flows on a test
clip. SPyNet is also most of a small network's cost (39 of 47 GMACs per frame on the default
profile), so each evaluation after the first is several times faster when the flows come from a
cache. Entries are keyed by the SPyNet weights and the exact input tensor, so a different SPyNet
or clip never hits; a stale entry cannot exist. The cache lives under work_dirs/ (git-ignored,
not a DVC output: deleting it only costs time).
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import torch

from ..io import atomic_path

FLOW_CACHE = Path('work_dirs') / 'flow_cache'


def _digest(*tensors: torch.Tensor) -> str:
    h = hashlib.sha256()
    for t in tensors:
        h.update(f'{t.dtype}{tuple(t.shape)}'.encode())
        h.update(t.detach().cpu().numpy().tobytes())  # C-order bytes, whatever the strides
    return h.hexdigest()[:32]


def cache_flows(net: torch.nn.Module, cache_dir: str | Path = FLOW_CACHE) -> torch.nn.Module:
    """``net`` (a BasicVSR-style network with ``compute_flow``) with its flows read from, or
    written to, ``cache_dir``; its outputs are unchanged."""
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
