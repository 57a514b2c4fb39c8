"""What every pipeline stage shares: params.yaml (validated), the profile's config, a resumable
work dir, atomic checkpoints, the MLflow stage run, and torchrun for the paper profile."""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Callable

import pandas as pd
import torch
import yaml
from mmengine.config import Config
from mmengine.model import is_model_wrapper
from mmengine.runner import CheckpointLoader, Runner
from mmengine.runner.checkpoint import find_latest_checkpoint

from ..io import atomic_path
from ..pruning.groups import check_ratio

PARAMS_FILE = Path('params.yaml')
PROFILES = ('default', 'paper')
# Known keys of every params group: a typo fails before any work is done.
SCHEMA = {
    'profile': None,
    'data': {'prepared', 'vid4_gt', 'reds', 'vimeo90k', 'udm10'},
    'train_dense': {'iters', 'lr'},
    'sparsify': {'iters', 'criterion', 'step', 'ceiling', 'update_interval', 'stabilize_iters'},
    'prune': {'ratio', 'final_pick', 'round_to'},
    'finetune': {'iters', 'lr', 'lambda_tf'},
    'baselines': {'tf_lambda'},
    'evaluate': {'sets', 'max_seq_len'},
}


class ParamsError(ValueError):
    pass


def load_params(path: Path = PARAMS_FILE) -> dict:
    if not path.is_file():
        raise ParamsError(f'{path}: not found; run from the repository root')
    params = yaml.safe_load(path.read_text()) or {}
    for key, value in params.items():
        if key not in SCHEMA:
            raise ParamsError(f'{path}: unknown key {key!r}; known: {sorted(SCHEMA)}')
        known = SCHEMA[key]
        if known is not None:
            if not isinstance(value, dict):
                raise ParamsError(f'{path}: {key} must be a mapping of {sorted(known)}')
            unknown = set(value) - known
            if unknown:
                raise ParamsError(f'{path}: unknown key {key}.{sorted(unknown)[0]}; known: {sorted(known)}')
    missing = set(SCHEMA) - set(params)
    if missing:
        raise ParamsError(f'{path}: missing group(s) {sorted(missing)}')
    if params['profile'] not in PROFILES:
        raise ParamsError(f'{path}: profile {params["profile"]!r} is unknown; use one of {PROFILES}')
    try:
        check_ratio(params['prune']['ratio'])
    except ValueError as err:
        raise ParamsError(f'{path}: {err}') from None
    return params


def stage_config(stage: str, params: dict) -> Config:
    """``configs/<stage>_<profile>.py`` with the data roots of params.yaml filled in."""
    cfg = Config.fromfile(f'configs/{stage}_{params["profile"]}.py')
    data, prepared = params['data'], Path(params['data']['prepared'])
    if params['profile'] == 'default':
        for loader in ('train_dataloader', 'val_dataloader'):
            if loader in cfg:
                cfg[loader].dataset.data_root = str(prepared / 'embedded')
    else:
        if not data.get('reds'):
            raise ParamsError(f'{PARAMS_FILE}: the paper profile trains on REDS: set data.reds')
        cfg.train_dataloader.dataset.data_root = data['reds']
        cfg.train_dataloader.dataset.ann_file = str((prepared / 'meta' / 'meta_info_reds_train.txt').resolve())
    return cfg


def set_iterations(cfg: Config, iters: int | None, lr: float | None = None) -> None:
    """params.yaml overrides of the config's schedule (None keeps the config's value)."""
    if iters:
        cfg.train_cfg.max_iters = iters
        if 'val_interval' in cfg.train_cfg:
            cfg.train_cfg.val_interval = max(1, iters // 2)
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


@CheckpointLoader.register_scheme(prefixes='', force=True)
def _load_local_checkpoint(filename: str, map_location=None):
    # Runner checkpoints (ours) hold optimizer and message-hub state, which torch>=2.6's
    # weights_only default refuses; they are trusted files this pipeline wrote itself.
    return torch.load(filename, map_location=map_location, weights_only=False)


class AtomicCheckpointRunner(Runner):
    """A Runner whose checkpoints appear only when complete (temp file + rename), so a kill
    mid-write never leaves a truncated ``iter_*.pth`` for the next resume."""

    def save_checkpoint(self, out_dir: str, filename: str, *args, **kwargs) -> None:
        tmp_name = f'.{filename}.tmp'
        super().save_checkpoint(out_dir, tmp_name, *args, **kwargs)
        os.replace(os.path.join(out_dir, tmp_name), os.path.join(out_dir, filename))


def run_training(cfg: Config, work: Path, load_from: str | Path | None = None,
                 setup: Callable[[Runner], None] | None = None) -> Runner:
    """Train with resume-from-work-dir on; ``load_from`` initialises a fresh run; ``setup`` sees
    the built runner before training (e.g. to attach a teacher)."""
    cfg.work_dir = str(work)
    # mmengine resumes *from load_from* when both are set, so: a checkpoint in the work dir
    # means resume from it; otherwise start from load_from (or scratch).
    cfg.resume = find_latest_checkpoint(str(work)) is not None if work.is_dir() else False
    cfg.load_from = None if cfg.resume or not load_from else str(load_from)
    runner = AtomicCheckpointRunner.from_cfg(cfg)
    if setup is not None:
        setup(runner)
    runner.train()
    return runner


def editor_of(runner: Runner) -> torch.nn.Module:
    """The MMagic editor inside the runner's model (DDP wrapper removed)."""
    return runner.model.module if is_model_wrapper(runner.model) else runner.model


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


def write_json(path: str | Path, data: dict) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + '\n')


def is_main_process() -> bool:
    return int(os.environ.get('RANK', '0')) == 0


def maybe_relaunch_distributed(module: str, params: dict) -> None:
    """Paper profile on a multi-GPU machine: re-run this stage under torchrun (mmengine's
    'pytorch' launcher), one process per GPU, and exit with its status."""
    gpus = torch.cuda.device_count()
    if params['profile'] != 'paper' or gpus < 2 or 'LOCAL_RANK' in os.environ:
        return
    cmd = [sys.executable, '-m', 'torch.distributed.run', f'--nproc_per_node={gpus}', '-m', module,
           *sys.argv[1:]]
    raise SystemExit(subprocess.call(cmd))


def launcher() -> str:
    return 'pytorch' if 'LOCAL_RANK' in os.environ else 'none'


def training_stage(stage: str, module: str) -> tuple[dict, Config]:
    """The prologue of every training stage: validated params, torchrun relaunch for the paper
    profile on several GPUs, the profile's config with params.yaml's iterations/lr applied."""
    params = load_params()
    maybe_relaunch_distributed(module, params)
    cfg = stage_config(stage, params)
    set_iterations(cfg, params[stage]['iters'], params[stage].get('lr'))
    cfg.launcher = launcher()
    return params, cfg
