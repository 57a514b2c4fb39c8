"""How this process runs: CPU inference tuning, and its rank in a distributed run."""
from __future__ import annotations

import ctypes
import os
import platform
from pathlib import Path

import torch
from torch import nn


def is_rank_zero() -> bool:
    """Whether this process is rank 0 (or not distributed): the one that tracks and writes.
    Read from torchrun's ``RANK`` (or Slurm's ``SLURM_PROCID``) so it holds before the process
    group exists."""
    return int(os.environ.get('RANK', os.environ.get('SLURM_PROCID', '0'))) == 0


def editor_of(runner) -> nn.Module:
    """The MMagic editor a runner trains, without its distributed wrapper (DDP under torchrun)."""
    from mmengine.model import is_model_wrapper  # here: tracking and reports import this module, and not mmengine

    return runner.model.module if is_model_wrapper(runner.model) else runner.model


def keep_freed_memory_for_reuse() -> bool:
    """Ask glibc to keep freed large blocks instead of returning them to the OS.

    Why: every frame allocates several 60-240 MB activations (the x4 head); by default glibc
    maps and unmaps each, and the page faults of re-touching fresh pages took ~40 % of CPU
    inference time here (``sys`` time). Process-wide; a no-op off glibc. Returns whether applied.
    """
    try:
        libc = ctypes.CDLL('libc.so.6')
    except OSError:
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3
    return bool(libc.mallopt(m_mmap_threshold, 1 << 30)) and bool(libc.mallopt(m_trim_threshold, 1 << 31))


def for_cpu_inference(net: nn.Module) -> nn.Module:
    """Channels-last weights (so every conv runs in oneDNN's native NHWC layout, ~1.5-3x faster
    than NCHW on this CPU) in eval mode; the RSC blocks then gather/scatter along memory's last
    axis."""
    return net.eval().to(memory_format=torch.channels_last)


def compiled(net: nn.Module) -> nn.Module:
    """``net`` (in place) with what runs once per frame compiled by ``torch.compile`` (inductor,
    CPU or CUDA): SPyNet, each propagation branch's trunk and the reconstruction. Each compiles
    once and serves every frame; compiling ``forward`` whole would unroll the frame loop into one
    graph per clip length. The first call compiles (minutes for the paper network on 2 cores)."""
    for part in ('spynet', 'backward_resblocks', 'forward_resblocks'):
        getattr(net, part).compile()
    net.reconstruct = torch.compile(net.reconstruct)
    return net


def cpu_name() -> str:
    """The CPU's model name (results are stated with the machine they came from)."""
    try:
        for line in Path('/proc/cpuinfo').read_text().splitlines():
            if line.startswith('model name'):
                return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()
