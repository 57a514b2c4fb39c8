"""Params, MACs and wall-clock latency of (SSL-)BasicVSR, per LR frame.

Convention, stated on every table and plot: **MACs per LR frame** (one multiply-accumulate = 1,
the fvcore convention of ``mmengine.analysis.FlopAnalyzer``), at a given LR size (180x320 unless
said otherwise), in the steady state of a long clip: each frame costs two SPyNet flows (one per
direction), one step of each propagation branch and one reconstruction. The count is the
library's, per component; ``tests/test_flops.py`` checks it equals the difference of two
whole-model traces (t+1 frames minus t frames).
"""
from __future__ import annotations

import copy
import time

import torch
from mmengine.analysis import FlopAnalyzer, parameter_count
from torch import nn

from .models.ssl_basicvsr_net import SSLBasicVSRNet
from .runtime import for_cpu_inference, keep_freed_memory_for_reuse

PAPER_LR_SIZE = (180, 320)
MAC_CONVENTION = 'MACs per LR frame (fvcore/mmengine convention), LR {h}x{w}'


class _Call(nn.Module):
    """Adapter so the analyser can trace one step of the network (a method, not a module)."""

    def __init__(self, fn, *modules: nn.Module) -> None:
        super().__init__()
        self.fn = fn
        self.parts = nn.ModuleList(modules)  # registered so the analyser sees their scopes

    def forward(self, *inputs):
        return self.fn(*self.parts, *inputs)


def _macs(module: nn.Module, inputs: tuple) -> int:
    analyzer = FlopAnalyzer(module, inputs)
    analyzer.unsupported_ops_warnings(False).uncalled_modules_warnings(False).tracer_warnings('none')
    return int(analyzer.total())


@torch.no_grad()
def macs_per_frame(net: SSLBasicVSRNet, lr_size: tuple[int, int] = PAPER_LR_SIZE) -> dict[str, int]:
    """MACs per LR frame by component: ``spynet`` (2 flows), ``propagation`` (both branches),
    ``reconstruction``, and ``total`` / ``total_without_spynet``."""
    h, w = lr_size
    param = next(net.parameters())
    lr = torch.rand(1, 3, h, w, dtype=param.dtype, device=param.device)
    feat = torch.rand(1, net.mid_channels, h, w, dtype=param.dtype, device=param.device)
    was_training = net.training
    net.eval()
    try:
        spynet = 2 * _macs(net.spynet, (lr, lr))
        flow = torch.zeros(1, 2, h, w, dtype=param.dtype, device=param.device)
        propagation = sum(
            _macs(_Call(net.propagate, branch), (lr, feat, flow))
            for branch in (net.backward_resblocks, net.forward_resblocks))
        reconstruction = _macs(_Call(type(net).reconstruct, net), (feat, feat, lr))
    finally:
        net.train(was_training)
    body = propagation + reconstruction
    return dict(spynet=spynet, propagation=propagation, reconstruction=reconstruction,
                total=body + spynet, total_without_spynet=body)


def param_counts(net: nn.Module) -> dict[str, int]:
    """Parameters with and without SPyNet. SSL scale vectors are counted apart (``scales``):
    they fold into the conv weights at export, so ``total`` excludes them, as the paper does."""
    counts = parameter_count(net)
    scales = sum(p.numel() for n, p in net.named_parameters() if '.act_scale' in n)
    total = counts[''] - scales
    return dict(total=total, without_spynet=total - counts.get('spynet', 0), scales=scales)


def complexity(net: SSLBasicVSRNet, lr_size: tuple[int, int] = PAPER_LR_SIZE) -> dict:
    """Params and MACs in one flat dict (what tables and MLflow log)."""
    macs = macs_per_frame(net, lr_size)
    params = param_counts(net)
    return {**{f'macs_{k}': v for k, v in macs.items()},
            **{f'params_{k}': v for k, v in params.items()},
            'lr_height': lr_size[0], 'lr_width': lr_size[1]}


@torch.inference_mode()
def latencies(models: dict[str, nn.Module], clip: torch.Tensor, repeats: int = 5,
              warmup: int = 1) -> dict[str, float]:
    """Fastest wall-clock seconds of ``model(clip)`` per model over ``repeats`` runs, after
    ``warmup`` runs (allocator, oneDNN primitive caches). Runs alternate between the models, so
    machine drift hits all of them alike. The minimum, as ``timeit``: other load on the machine
    only ever adds time, and on a busy 2-core machine the median of 3 runs gave speed-ups of 4.5x
    for a 1.2x MAC ratio."""
    for model in models.values():
        model.eval()
        for _ in range(warmup):
            model(clip)
    times = {name: [] for name in models}
    for _ in range(repeats):
        for name, model in models.items():
            if clip.is_cuda:
                torch.cuda.synchronize()
            start = time.perf_counter()
            model(clip)
            if clip.is_cuda:
                torch.cuda.synchronize()
            times[name].append(time.perf_counter() - start)
    return {name: min(t) for name, t in times.items()}



def cost_against_dense(dense: SSLBasicVSRNet, model: SSLBasicVSRNet, speed: dict | None = None) -> dict:
    """Params, MACs (per LR frame at 180x320) and CPU seconds per frame of ``dense`` and ``model``
    (a smaller network), and the two ratios a pruning method is judged by: ``mac_ratio`` (dense
    MACs / model MACs) and ``cpu_speedup`` (dense time / model time, both measured here,
    interleaved). ``speed`` is params.yaml's group of that name: the timed clip's LR size, frames
    and repeats (default: 3 frames at 180x320, 5 repeats)."""
    speed = {'lr_size': list(PAPER_LR_SIZE), 'frames': 3, 'repeats': 5, **(speed or {})}
    keep_freed_memory_for_reuse()
    clip = torch.rand(1, speed['frames'], 3, *speed['lr_size'], generator=torch.Generator().manual_seed(0))
    models = {'dense': dense, 'model': model}
    secs = latencies({k: for_cpu_inference(copy.deepcopy(m)) for k, m in models.items()}, clip, speed['repeats'])
    cost = {'mac_convention': MAC_CONVENTION.format(h=PAPER_LR_SIZE[0], w=PAPER_LR_SIZE[1]), 'timed_clip': speed}
    for name, net in models.items():
        cost[name] = {**complexity(net), 'cpu_seconds_per_frame': secs[name] / speed['frames']}
    cost['mac_ratio'] = cost['dense']['macs_total'] / cost['model']['macs_total']
    cost['cpu_speedup'] = secs['dense'] / secs['model']
    return cost
