"""Where the default profile's training time goes: seconds per iteration of a training stage's
real config (data loading included, validation excluded) for several GT patch sizes and batch
sizes, with SPyNet frozen (every stage after the dense model) or trained (the dense model).

    .venv/bin/python benchmarks/iteration_cost.py [--stage train_dense] [--iters 25]

Needs data/prepared (`dvc repro prepare_data`). Prints each setting's s/iteration and LR pixels
per second as ratios to the first setting (64-pixel patches, batch 2, frozen SPyNet), so the
numbers compare across machines of different speed.
"""
from __future__ import annotations

import argparse

import yaml
from paper_step import IterationClock

from ssl_mm.training.config import stage_config
from ssl_mm.training.resume import AtomicCheckpointRunner as Runner

SETTINGS = [(64, 2, True), (128, 2, True), (128, 4, True), (64, 2, False), (128, 2, False)]


def seconds_per_iteration(stage: str, patch: int, batch: int, frozen: bool, iters: int, work: str) -> float:
    cfg = stage_config(stage, yaml.safe_load(open('params.yaml')))
    for step in cfg.train_dataloader.dataset.pipeline:
        if step['type'] == 'PairedRandomCrop':
            step['gt_patch_size'] = patch
    cfg.train_dataloader.batch_size = batch
    cfg.model.train_cfg.fix_iter = 10**9 if frozen else 0
    cfg.train_cfg.max_iters = iters
    cfg.default_hooks.checkpoint.interval = 10**9
    cfg.visualizer.vis_backends = [dict(type='LocalVisBackend')]
    cfg.work_dir = work
    runner = Runner.from_cfg(cfg)
    clock = IterationClock(skip=3)  # the first iterations build oneDNN primitives
    runner.register_hook(clock)
    runner.train()
    return sum(clock.times) / len(clock.times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--stage', default='train_dense')
    parser.add_argument('--iters', type=int, default=25)
    parser.add_argument('--work-dir', default='work_dirs/benchmark_iteration_cost')
    args = parser.parse_args()
    rows = [(p, b, f, seconds_per_iteration(args.stage, p, b, f, args.iters, args.work_dir)) for p, b, f in SETTINGS]
    ref_time, ref_rate = rows[0][3], rows[0][0] ** 2 * rows[0][1] / rows[0][3]
    print(f'\n{args.stage} (default profile): cost per iteration relative to GT patch 64, batch 2, SPyNet frozen '
          f'({ref_time:.3f} s/it on this machine)')
    print('patch  batch  SPyNet   s/it ratio   LR pixels/s ratio')
    for patch, batch, frozen, secs in rows:
        print(f'{patch:5d}  {batch:5d}  {"frozen" if frozen else "trained":7s}  {secs / ref_time:9.2f}   '
              f'{patch ** 2 * batch / secs / ref_rate:17.2f}')


if __name__ == '__main__':
    main()
