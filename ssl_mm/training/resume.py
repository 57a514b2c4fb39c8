"""Training that survives a kill: a work dir named by what the run depends on, checkpoints that
appear only when complete, and a restart that resumes from the last one that loads."""
from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Callable

import torch
from mmengine.config import Config
from mmengine.dist import master_only
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.runner import Runner

from ..io import trusted_local_checkpoints


def fingerprint(*parts) -> str:
    """A short hash of ``parts`` (JSON, keys sorted): equal inputs, equal name."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:12]


def file_digest(path: str | Path) -> str:
    """The MD5 of a file's bytes, for work dir names (what DVC's lock records too)."""
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
    """The iteration of mmengine's ``iter_<N>.pth``."""
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
