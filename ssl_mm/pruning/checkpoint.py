"""Save/load a network (dense, sparsified or pruned) as an mmengine checkpoint plus a config
that rebuilds it alone (a pruned model needs no dense model)."""
from __future__ import annotations

import io
import os
from pathlib import Path

import torch
from mmagic.models.editors.basicvsr.basicvsr_net import BasicVSRNet
from mmagic.registry import MODELS
from mmengine.config import Config

from ..errors import CheckpointError
from ..io import atomic_path
from ..models.ssl_basicvsr_net import SSLBasicVSRNet
from ..safe_checkpoint import load_checkpoint


def model_config(model: SSLBasicVSRNet) -> dict:
    """The ``model`` dict that rebuilds ``model``'s architecture (widths included)."""
    return dict(type='SSLBasicVSRNet', **model.arch)


def mmagic_config(model: SSLBasicVSRNet) -> dict:
    """An MMagic inference config for ``model``: the BasicVSR editor around it and a test
    pipeline, so that ``mmagic.apis.init_model(config, checkpoint)`` and
    ``MMagicInferencer`` load the network (after ``pip install`` of this package)."""
    return dict(
        custom_imports=dict(imports=['ssl_mm.models'], allow_failed_imports=False),  # registers the network
        default_scope='mmagic',
        model=dict(type='BasicVSR', generator=model_config(model),
                   pixel_loss=dict(type='CharbonnierLoss', loss_weight=1.0, reduction='mean'),
                   data_preprocessor=dict(type='DataPreprocessor', mean=[0., 0., 0.], std=[255., 255., 255.])),
        test_pipeline=[dict(type='GenerateSegmentIndices', interval_list=[1]),
                       dict(type='LoadImageFromFile', key='img', channel_order='rgb'),
                       dict(type='PackInputs')])


def _dump_config(data: dict, path: Path) -> None:
    with atomic_path(path) as tmp:
        Config(data).dump(str(tmp.with_suffix('.py')))  # mmengine picks the format by suffix
        tmp.with_suffix('.py').replace(tmp)


def save_network(model: SSLBasicVSRNet, out_dir: str | os.PathLike, name: str = 'pruned',
                meta: dict | None = None) -> tuple[Path, Path]:
    """Write ``<name>.py`` (the network's config), ``<name>_mmagic.py`` (an MMagic inference
    config, see :func:`mmagic_config`) and ``<name>.pth`` (``{'state_dict', 'meta'}``, keys as
    in an MMagic editor checkpoint), each atomically."""
    out_dir = Path(out_dir)
    cfg_path, ckpt_path = out_dir / f'{name}.py', out_dir / f'{name}.pth'
    _dump_config(dict(model=model_config(model)), cfg_path)
    _dump_config(mmagic_config(model), out_dir / f'{name}_mmagic.py')
    with atomic_path(ckpt_path) as tmp:
        # 'generator.' as in MMagic editor checkpoints: mmengine's load_from and MMagic's
        # init_model take the file as it is.
        state = {f'generator.{k}': v.detach().cpu() for k, v in model.state_dict().items()}
        # The bytes mmengine's save_checkpoint writes (torch.save through a buffer), without its
        # FileClient, which logs a deprecation warning users can do nothing about.
        with io.BytesIO() as buffer:
            torch.save({'state_dict': state, 'meta': dict(meta or {})}, buffer)
            tmp.write_bytes(buffer.getvalue())
    return cfg_path, ckpt_path


def load_network(cfg_path: str | os.PathLike, ckpt_path: str | os.PathLike,
                map_location: str = 'cpu') -> SSLBasicVSRNet:
    """Build the model from its config alone and load its weights (strict)."""
    for path in (cfg_path, ckpt_path):
        if not Path(path).is_file():
            raise CheckpointError(f'{path}: network file missing; run the pipeline stage that writes it (dvc repro)')
    model = MODELS.build(network_config(Config.fromfile(str(cfg_path)), cfg_path))
    checkpoint = load_checkpoint(ckpt_path, map_location)  # also a user's file (ssl-mm infer/prune/export)
    state = checkpoint.get('state_dict', checkpoint)
    state = {k.removeprefix('generator.'): v for k, v in state.items()}
    mismatch = state_mismatch(model, state)
    if mismatch:
        raise CheckpointError(f'{ckpt_path} does not fit the architecture of {cfg_path} ({mismatch}): it was '
                              f'saved from another model; use the .py/.pth pair one stage wrote together')
    model.load_state_dict(state, strict=True)
    if isinstance(model, BasicVSRNet) and not isinstance(model, SSLBasicVSRNet):
        model = SSLBasicVSRNet.from_basicvsr(model)  # an MMagic BasicVSR checkpoint, ready to prune
    return model


def network_config(cfg: Config, cfg_path: str | os.PathLike) -> dict:
    """The network's ``model`` dict from our network config, our MMagic config, or an MMagic
    BasicVSR config (its ``generator``)."""
    model = cfg.get('model')
    if model is not None and model.get('type') in ('SSLBasicVSRNet', 'BasicVSRNet'):
        return model
    if model is not None and model.get('generator', {}).get('type') in ('SSLBasicVSRNet', 'BasicVSRNet'):
        return model.generator
    raise CheckpointError(f'{cfg_path}: no SSLBasicVSRNet or BasicVSRNet network in its model; pass a '
                          f'network config written by ssl-mm (models/*/*.py) or an MMagic BasicVSR config')


def state_mismatch(model: torch.nn.Module, state: dict) -> str:
    """'' if ``state`` fits ``model``, else the first difference, in a few words."""
    own = model.state_dict()
    missing, unexpected = sorted(set(own) - set(state)), sorted(set(state) - set(own))
    if missing:
        return f'{len(missing)} missing keys, e.g. {missing[0]}'
    if unexpected:
        return f'{len(unexpected)} unexpected keys, e.g. {unexpected[0]}'
    for key, value in own.items():
        if value.shape != state[key].shape:
            return f'{key} is {tuple(state[key].shape)} in the checkpoint, {tuple(value.shape)} in the model'
    return ''
