"""What every pipeline stage shares: params.yaml (validated), the profile's config, a resumable
work dir, atomic checkpoints, the MLflow stage run, and torchrun for the paper profile."""
from __future__ import annotations

import atexit
import hashlib
import json
import logging
import multiprocessing
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import pandas as pd
import torch
from mmengine.config import Config
from mmengine.dist import master_only
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.runner import Runner

from ..choices import LR_DIRS
from ..data.integrity import check_frames, training_frames
from ..errors import ParamsError, exit_on_user_error
from ..io import atomic_path, trusted_local_checkpoints, write_json
from ..params import PARAMS_FILE, load_params  # noqa: F401  (stages import it from here)
from ..profiles import train_meta_file
from ..runtime import editor_of
from ..tracking import log_record, numeric

TRAIN_SETS = {'reds': '_base_/datasets/reds.py', 'vimeo90k': '_base_/datasets/vimeo90k.py'}  # paper profile


def run_stage(main: Callable[[], None]) -> None:
    """A stage's entry point: ``main`` with one-line user errors (exit 2), then a quick exit.

    When ``main`` returns, every output is written and closed and the MLflow run has ended; what
    is left is the interpreter tearing down the ~6,000 modules of torch, MMagic and MLflow, about
    1.5 s per stage (measured), and the default pipeline runs dozens. So the exit handlers run
    (logging and MLflow flush there) and the process ends without that teardown. Not while child
    processes live (data-loader workers): they get the ordinary exit that waits for them."""
    exit_on_user_error(main)()
    if multiprocessing.active_children():
        return
    atexit._run_exitfuncs()  # what a normal exit runs first (CPython's own hook)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


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


def fingerprint(*parts) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:12]


def file_digest(path: str | Path) -> str:
    return hashlib.md5(Path(path).read_bytes()).hexdigest()


def work_dir(stage: str, *inputs) -> Path:
    """``work_dirs/<stage>/<hash of its resolved config, params and input files>``: a killed
    stage finds its checkpoints again and resumes; a stage whose config, params or inputs
    changed starts fresh instead of resuming someone else's run."""
    return Path('work_dirs') / stage / fingerprint(*inputs)


class AtomicCheckpointRunner(Runner):
    """A Runner whose checkpoints appear only when complete (temp file + rename), so a kill
    mid-write never leaves a truncated ``iter_*.pth`` for the next resume."""

    @master_only  # as Runner.save_checkpoint: the other ranks write nothing, so rename nothing
    def save_checkpoint(self, out_dir: str, filename: str, *args, **kwargs) -> None:
        tmp_name = f'.{filename}.tmp'
        super().save_checkpoint(out_dir, tmp_name, *args, **kwargs)
        os.replace(os.path.join(out_dir, tmp_name), os.path.join(out_dir, filename))


def checkpoint_iter(path: Path) -> int:
    return int(path.stem.split('_')[-1])


def last_good_checkpoint(work: Path) -> Path | None:
    """The newest ``iter_*.pth`` of ``work`` that loads. A truncated or corrupt one (a disk
    filled up, a copy interrupted; our own writes are atomic) is moved aside as ``*.corrupt``,
    with a warning, and the one before it is used."""
    for path in sorted(work.glob('iter_*.pth'), key=checkpoint_iter, reverse=True):
        try:
            torch.load(path, map_location='cpu', weights_only=False)
            return path
        except Exception as err:  # truncated zip, bad pickle: whatever it is, it cannot resume
            bad = path.with_name(path.name + '.corrupt')
            path.replace(bad)
            print_log(f'{path}: corrupt or truncated checkpoint ({type(err).__name__}); moved to {bad.name}, '
                      'resuming from the previous one', 'current', logging.WARNING)
    return None


class LastValIterHook(Hook):
    """Records the iteration of each validation in the message hub (saved in checkpoints)."""

    priority = 'LOWEST'

    def after_val_epoch(self, runner, metrics=None) -> None:
        runner.message_hub.update_info('last_val_iter', runner.iter)


def run_training(cfg: Config, work: Path, load_from: str | Path | None = None,
                 setup: Callable[[Runner], None] | None = None) -> Runner:
    """Train, resuming from the last good checkpoint of ``work`` if there is one (model,
    optimizer, scheduler, message hub, the SSL penalty state; the data order is replayed);
    otherwise start from ``load_from`` (or scratch). ``setup`` sees the built runner before
    training (e.g. to attach a teacher)."""
    cfg.work_dir = str(work)
    # mmengine resumes *from load_from* when resume is set, so the checkpoint goes there.
    checkpoint = last_good_checkpoint(work) if work.is_dir() else None
    cfg.resume = checkpoint is not None
    cfg.load_from = str(checkpoint) if checkpoint else (str(load_from) if load_from else None)
    with trusted_local_checkpoints():
        runner = AtomicCheckpointRunner.from_cfg(cfg)
        runner.register_hook(LastValIterHook())
        if setup is not None:
            setup(runner)
        runner.train()
    # The last checkpoint is written before the last validation runs, so a run resumed at its
    # end would report the previous validation's scores: validate again then.
    if runner.val_loop is not None and runner.message_hub.get_info('last_val_iter') != runner.iter:
        runner.val()
    return runner


def generator_of(runner: Runner) -> torch.nn.Module:
    return editor_of(runner).generator


def last_scalars(runner: Runner, *names: str) -> dict[str, float]:
    hub = runner.message_hub
    out = {}
    for name in names:
        if name in hub.log_scalars:
            out[name.replace('/', '_')] = float(hub.get_scalar(name).current())
    return out


CURVE_COLUMNS = ('loss', 'loss_pix', 'loss_tf', 'ssl_lambda', 'ssl_picked_scale_mean', 'ssl_kept_scale_mean')


def write_training_curve(work: Path, path: str | Path) -> None:
    """The training scalars mmengine's LocalVisBackend logged (every logger interval) across all
    runs of this work dir (a resumed run adds a timestamped folder; later runs win on repeated
    iterations) as one CSV: ``step`` plus the columns of CURVE_COLUMNS that were logged."""
    rows = {}
    for scalars in sorted(work.glob('*/vis_data/scalars.json')):
        for line in scalars.read_text().splitlines():
            record = json.loads(line)
            if 'loss' in record:  # training records (validation ones carry PSNR instead)
                rows[record['step']] = {k: record[k] for k in CURVE_COLUMNS if k in record}
    table = pd.DataFrame.from_dict(rows, orient='index').sort_index().rename_axis('step')
    with atomic_path(path) as tmp:
        table.to_csv(tmp, float_format='%.6g')


def record_training(runner: Runner, work: Path, metrics_path: Path, curve_path: Path, scalars: tuple[str, ...],
                    extra: dict | None = None) -> dict:
    """A training stage's results: the last values of ``scalars`` and the iteration count (plus
    ``extra``) in ``metrics_path`` and MLflow, the loss curve in ``curve_path``."""
    metrics = {**last_scalars(runner, 'train/loss', *scalars), 'iters': runner.max_iters, **(extra or {})}
    write_json(metrics_path, metrics)
    write_training_curve(work, curve_path)
    log_record(numeric(metrics), metrics_path)
    return metrics


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
