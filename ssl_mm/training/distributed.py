"""The paper profile across GPUs and nodes: relaunch under torchrun, and mmengine's launcher and
process group for how this process was started (gloo on CPU, NCCL on GPUs)."""
from __future__ import annotations

import os
import subprocess
import sys

import torch
from mmengine.config import Config


def maybe_relaunch_distributed(module: str, params: dict) -> None:
    """Paper profile on a multi-GPU machine: re-run this stage under torchrun (mmengine's
    'pytorch' launcher), one process per GPU, and exit with its status."""
    gpus = torch.cuda.device_count()
    if params['profile'] != 'paper' or gpus < 2 or launcher() != 'none':  # already one of several
        return
    cmd = [sys.executable, '-m', 'torch.distributed.run', f'--nproc_per_node={gpus}', '-m', module,
           *sys.argv[1:]]
    raise SystemExit(subprocess.call(cmd))


def launcher() -> str:
    """mmengine's launcher for how this process was started: by torchrun (``pytorch``), as one
    of several Slurm tasks (``slurm``, e.g. ``srun --ntasks-per-node 8 python -m ...``), or alone."""
    if 'LOCAL_RANK' in os.environ:
        return 'pytorch'
    return 'slurm' if int(os.environ.get('SLURM_NTASKS', '1')) > 1 else 'none'


def set_distributed(cfg: Config) -> None:
    """Under torchrun: NCCL between GPUs, gloo between CPU processes. mmengine's ``pytorch``
    launcher assumes CUDA (it calls ``torch.cuda.set_device``), so on CPU the process group is
    started here (mmengine then keeps it) and DDP wraps the model without device ids."""
    cfg.launcher = launcher()
    if cfg.launcher == 'none':
        return
    cuda = torch.cuda.is_available()
    cfg.env_cfg.setdefault('dist_cfg', {})['backend'] = 'nccl' if cuda else 'gloo'
    if cfg.launcher == 'pytorch' and not cuda:
        if not torch.distributed.is_initialized():
            torch.distributed.init_process_group('gloo')
        cfg.model_wrapper_cfg = dict(type='MMDistributedDataParallel', device_ids=None, broadcast_buffers=False,
                                     find_unused_parameters=cfg.get('find_unused_parameters', False))
