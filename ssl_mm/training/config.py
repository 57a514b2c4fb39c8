"""A training stage's mmengine config: ``configs/<stage>_<profile>.py`` with params.yaml's data
roots, degradation, samples and schedule applied, and the stage prologue that builds it."""
from __future__ import annotations

import os
import time
from pathlib import Path

from mmengine.config import Config
from mmengine.logging import print_log

from ..choices import LR_DIRS
from ..data.integrity import check_frames, training_frames
from ..errors import ParamsError
from ..params import PARAMS_FILE, load_params
from ..profiles import train_meta_file
from .distributed import launcher, maybe_relaunch_distributed, set_distributed

TRAIN_SETS = {'reds': '_base_/datasets/reds.py', 'vimeo90k': '_base_/datasets/vimeo90k.py'}  # paper profile


def stage_config(stage: str, params: dict, degradation: str = 'bi') -> Config:
    """``configs/<stage>_<profile>.py`` with the data roots of params.yaml filled in and the LR
    of ``degradation`` (the configs read BI); the paper profile trains on ``data.train_set``
    (REDS, the configs' own, or Vimeo-90K)."""
    cfg = Config.fromfile(f'configs/{stage}_{params["profile"]}.py')
    data, prepared = params['data'], Path(params['data']['prepared'])
    if params['profile'] == 'default':
        for loader in ('train_dataloader', 'val_dataloader'):
            if loader in cfg:
                cfg[loader].dataset.data_root = str(prepared / 'embedded')
    else:
        train_set = data['train_set']
        if not data.get(train_set):
            raise ParamsError(f'{PARAMS_FILE}: the paper profile trains on data.train_set={train_set}: '
                              f'set data.{train_set} to its root')
        if train_set != 'reds':
            cfg.train_dataloader = Config.fromfile(f'configs/{TRAIN_SETS[train_set]}').train_dataloader
        cfg.train_dataloader.dataset.data_root = data[train_set]
        cfg.train_dataloader.dataset.ann_file = str(train_meta_file(params).resolve())
    if 'train_dataloader' in cfg:
        if degradation != 'bi':  # validate() keeps BD off REDS, whose LR folder is not named by degradation
            cfg.train_dataloader.dataset.data_prefix.img = LR_DIRS[degradation]
        set_training_samples(cfg.train_dataloader, params['training'])
    return cfg


def check_training_set(dataset: Config) -> None:
    """The paper profile's start-up check: every frame of the training set exists and is not
    truncated (``ssl_mm.data.integrity``), before hours of training find one that is."""
    start = time.perf_counter()
    files = training_frames(dataset.data_root, dataset.data_prefix, dataset.ann_file)
    check_frames(files)
    print_log(f'checked {len(files):,} training frames in {time.perf_counter() - start:.1f} s', 'current')


def set_training_samples(loader: Config, training: dict) -> None:
    """params.yaml's ``training`` overrides (None keeps the config's value): frames per sample,
    GT patch side and batch size."""
    if training['clip_frames']:
        if 'fixed_seq_len' in loader.dataset:
            raise ParamsError(f'{PARAMS_FILE}: training.clip_frames={training["clip_frames"]}: Vimeo-90K samples are '
                              'its septuplets; set training.clip_frames to null')
        loader.dataset.num_input_frames = training['clip_frames']
    if training['gt_patch']:
        for step in loader.dataset.pipeline:
            if step['type'] == 'PairedRandomCrop':
                step['gt_patch_size'] = training['gt_patch']
    if training['batch_size']:
        loader.batch_size = training['batch_size']


def set_iterations(cfg: Config, iters: int | None, lr: float | None = None) -> None:
    """params.yaml overrides of the config's schedule (None keeps the config's value)."""
    if iters:
        cfg.train_cfg.max_iters = iters
        if 'val_interval' in cfg.train_cfg:  # a shorter run still validates at its end
            cfg.train_cfg.val_interval = min(cfg.train_cfg.val_interval, iters)
        if 'param_scheduler' in cfg and 'periods' in cfg.param_scheduler:
            cfg.param_scheduler.periods = [iters]
    if lr:
        cfg.optim_wrapper.optimizer.lr = lr


def configured_iters(stage: str, params: dict) -> int:
    """A training stage's iteration count: params.yaml's, else its config's."""
    return params[stage]['iters'] or stage_config(stage, params).train_cfg.max_iters


def training_stage(stage: str, module: str, cell, config: str | None = None) -> tuple[dict, Config]:
    """The prologue of every training stage: validated params, torchrun relaunch for the paper
    profile on several GPUs, the profile's config (``config``, default: the stage's) with
    params.yaml's iterations/lr and the cell's seed and degradation applied."""
    params = load_params()
    cfg = stage_config(config or stage, params, cell.degradation)
    if params['profile'] == 'paper' and launcher() != 'pytorch' and os.environ.get('SLURM_PROCID', '0') == '0':
        check_training_set(cfg.train_dataloader.dataset)  # once, before torchrun starts the ranks
    maybe_relaunch_distributed(module, params)
    set_iterations(cfg, params[stage]['iters'], params[stage].get('lr'))
    cfg.randomness.seed = cell.seed
    set_distributed(cfg)
    return params, cfg
