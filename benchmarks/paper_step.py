"""Seconds per training iteration of the paper profile's real configs (64 ch, 30 blocks, x4;
REDS 15-frame clips, 256-pixel GT patches, 1 sample per process) on this machine's device: the
dense model (SPyNet frozen, as for its first 5k iterations), then the sparsity search from it
(SSL's regulariser hook on top).

    .venv/bin/python benchmarks/paper_step.py --iters 40 [--device cuda]

The data is a REDS-layout root made here: clips of symlinks to the real frames of one prepared
clip (default: the embedded ``bigbuckbunny``, from ``dvc repro prepare_data``), so the loaders,
crops and config run exactly as on REDS. Prints s/iteration and the projected hours of the
paper's schedule (300k + 19k iterations) on one device.
"""
from __future__ import annotations

import argparse
import datetime
import json
import tempfile
import time
from pathlib import Path

import cv2
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner

from ssl_mm.io import trusted_local_checkpoints

PAPER_ITERS = {'train_dense': 300_000, 'sparsify': 19_000}


class IterationClock(Hook):
    """Wall-clock seconds of each training iteration after the first ``skip`` (kernel choice,
    oneDNN / cuDNN plans); CUDA is synchronised so the time is the GPU's, not the launch's."""

    def __init__(self, skip: int) -> None:
        self.skip, self.times = skip, []

    def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        self.start = time.perf_counter()

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        if runner.iter >= self.skip:
            self.times.append(time.perf_counter() - self.start)


def reds_fixture(root: Path, source: Path, clips: int, frames: int) -> Path:
    """``root/train_sharp/<clip>/%08d.png`` and ``train_sharp_bicubic/X4`` as symlinks cycling
    over ``source/GT/<clip>`` and ``source/BIx4/<clip>``, plus the meta file the config reads."""
    gt = sorted((source / 'GT').iterdir())[0]
    lr = source / 'BIx4' / gt.name
    pairs = list(zip(sorted(gt.glob('*.png')), sorted(lr.glob('*.png'))))
    for sub, pick in (('train_sharp', 0), ('train_sharp_bicubic/X4', 1)):
        for c in range(clips):
            folder = root / sub / f'{c:03d}'
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(frames):
                (folder / f'{i:08d}.png').symlink_to(pairs[i % len(pairs)][pick].resolve())
    h, w = cv2.imread(str(pairs[0][0])).shape[:2]
    meta = root / 'meta_info_reds_train.txt'
    meta.write_text(''.join(f'{c:03d} {frames} ({h},{w},3)\n' for c in range(clips)))
    return meta


def seconds_per_iteration(stage: str, root: Path, meta: Path, work: Path, iters: int,
                          load_from: str | None = None) -> tuple[float, str]:
    # Timing needs no MLflow: skip the config's imports (ssl_mm.tracking imports mlflow; the rest
    # main imports) and the backend the pipeline stages log through.
    cfg = Config.fromfile(f'configs/{stage}_paper.py', import_custom_modules=False)
    cfg.pop('custom_imports')
    cfg.visualizer.vis_backends = [dict(type='LocalVisBackend')]
    cfg.train_dataloader.dataset.update(data_root=str(root), ann_file=str(meta))
    cfg.train_cfg.max_iters = iters
    cfg.default_hooks.checkpoint.interval = iters
    cfg.default_hooks.logger.interval = 10
    if 'periods' in cfg.get('param_scheduler', {}):
        cfg.param_scheduler.periods = [iters]
    cfg.work_dir, cfg.load_from, cfg.launcher = str(work / stage), load_from, 'none'
    with trusted_local_checkpoints():  # load_from: the dense run's own full checkpoint
        runner = Runner.from_cfg(cfg)
        clock = IterationClock(skip=5)
        runner.register_hook(clock)
        runner.train()
    return sum(clock.times) / len(clock.times), str(work / stage / f'iter_{iters}.pth')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--iters', type=int, default=40)
    parser.add_argument('--frames-from', default='data/prepared/embedded', type=Path,
                        help='a prepared frame-folder root (GT/ and BIx4/ of at least one clip)')
    parser.add_argument('--out', help="results JSON (default benchmarks/results/paper_step_<cpu|cuda>.json; '' to skip)")
    args = parser.parse_args()
    import ssl_mm.data.frame_cache  # noqa: F401  (what the configs' custom_imports register, but MLflow)
    import ssl_mm.models  # noqa: F401
    import ssl_mm.pruning  # noqa: F401

    device = torch.cuda.get_device_name() if torch.cuda.is_available() else 'cpu'
    results = {'device': device, 'torch': torch.__version__, 'date': str(datetime.date.today()),
               'iters_timed': args.iters - 5, 'stages': {}}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / 'REDS'
        meta = reds_fixture(root, args.frames_from, clips=4, frames=100)
        dense_ckpt = None
        for stage in ('train_dense', 'sparsify'):
            secs, ckpt = seconds_per_iteration(stage, root, meta, Path(tmp) / 'work', args.iters, dense_ckpt)
            dense_ckpt = dense_ckpt or ckpt
            results['stages'][stage] = {'s_per_iter': secs, 'paper_iters': PAPER_ITERS[stage],
                                        'projected_hours_one_device': secs * PAPER_ITERS[stage] / 3600}
    print(f'\n== paper profile training, {device}, torch {torch.__version__}, '
          f'mean of iterations 6-{args.iters} ==')
    for stage, r in results['stages'].items():
        print(f'{stage:12s} {r["s_per_iter"]:.3f} s/it  -> {r["paper_iters"]:,} iterations: '
              f'{r["projected_hours_one_device"]:.1f} h on one device')
    out = args.out if args.out is not None else (
        f'benchmarks/results/paper_step_{"cuda" if torch.cuda.is_available() else "cpu"}.json')
    if out:
        Path(out).write_text(json.dumps(results, indent=2) + '\n')
        print(f'wrote {out}')


if __name__ == '__main__':
    main()
