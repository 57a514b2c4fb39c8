"""Save/load a network (dense, sparsified or pruned) as an mmengine checkpoint plus a config
that rebuilds it alone (a pruned model needs no dense model)."""
from __future__ import annotations

import os
from pathlib import Path

import torch
from mmengine.config import Config
from mmengine.runner import save_checkpoint

from mmagic.registry import MODELS

from ..io import atomic_path
from ..models.ssl_basicvsr_net import SSLBasicVSRNet


def model_config(model: SSLBasicVSRNet) -> dict:
    """The ``model`` dict that rebuilds ``model``'s architecture (widths included)."""
    return dict(type='SSLBasicVSRNet', **model.arch)


def save_network(model: SSLBasicVSRNet, out_dir: str | os.PathLike, name: str = 'pruned',
                meta: dict | None = None) -> tuple[Path, Path]:
    """Write ``<name>.py`` (config) and ``<name>.pth`` (``{'state_dict', 'meta'}``) atomically."""
    out_dir = Path(out_dir)
    cfg_path, ckpt_path = out_dir / f'{name}.py', out_dir / f'{name}.pth'
    with atomic_path(cfg_path) as tmp:
        Config(dict(model=model_config(model))).dump(str(tmp.with_suffix('.py')))
        tmp.with_suffix('.py').replace(tmp)
    with atomic_path(ckpt_path) as tmp:
        # 'generator.' as in MMagic editor checkpoints: mmengine's load_from and MMagic's
        # init_model take the file as it is.
        state = {f'generator.{k}': v.detach().cpu() for k, v in model.state_dict().items()}
        save_checkpoint({'state_dict': state, 'meta': dict(meta or {})}, str(tmp))
    return cfg_path, ckpt_path


def load_network(cfg_path: str | os.PathLike, ckpt_path: str | os.PathLike,
                map_location: str = 'cpu') -> SSLBasicVSRNet:
    """Build the model from its config alone and load its weights (strict)."""
    for path in (cfg_path, ckpt_path):
        if not Path(path).is_file():
            raise FileNotFoundError(f'{path}: network file missing; run the pipeline stage that writes it (dvc repro)')
    model = MODELS.build(Config.fromfile(str(cfg_path)).model)
    # Only tensors and plain types inside: the safe loader suffices.
    checkpoint = torch.load(ckpt_path, map_location=map_location, weights_only=True)
    state = checkpoint.get('state_dict', checkpoint)
    state = {k.removeprefix('generator.'): v for k, v in state.items()}
    model.load_state_dict(state, strict=True)
    return model
