"""End-to-end smoke run on real embedded frames: build SSL-BasicVSR, run a short sparsity search
through mmengine's Runner, prune the penalised units, and report params / MACs / CPU latency.

Until the DVC pipeline lands this is the README's main job: ``python -m ssl_mm.smoke``.
"""
from __future__ import annotations

import argparse
import copy
from pathlib import Path

import torch
from mmengine.config import Config
from mmengine.runner import Runner

from .data.prepare import prepare
from .flops import (MAC_CONVENTION, PAPER_LR_SIZE, complexity, for_cpu_inference,
                    keep_freed_memory_for_reuse, latencies)
from .pruning import SSLRegularizationHook, final_pruned_set, prune, save_network

REPO = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--config', default=str(REPO / 'configs' / 'sparsify_default.py'))
    parser.add_argument('--work-dir', default=str(REPO / 'work_dirs' / 'smoke'))
    parser.add_argument('--iters', type=int, default=50)
    args = parser.parse_args(argv)

    work_dir = Path(args.work_dir)
    cfg = Config.fromfile(args.config)
    cfg.work_dir = str(work_dir / 'sparsify')
    if not (work_dir / 'data' / 'summary.json').is_file():
        prepare(work_dir / 'data')
    cfg.train_dataloader.dataset.data_root = str(work_dir / 'data' / 'embedded')
    cfg.train_cfg.max_iters = args.iters
    cfg.default_hooks.checkpoint.interval = args.iters
    runner = Runner.from_cfg(cfg)
    runner.train()

    net = runner.model.generator.eval()
    hook = next(h for h in runner.hooks if isinstance(h, SSLRegularizationHook))
    compact = prune(net, pruned=final_pruned_set(net, hook.state_dict()))
    cfg_path, ckpt_path = save_network(compact, work_dir / 'pruned', meta=dict(ratio=hook.ratio))

    models = {'dense': net, 'pruned': compact}
    keep_freed_memory_for_reuse()
    clip = torch.rand(1, 3, 3, *PAPER_LR_SIZE)
    secs = latencies({k: for_cpu_inference(copy.deepcopy(m)) for k, m in models.items()}, clip, repeats=3)
    h, w = PAPER_LR_SIZE
    print(f'\n{"model":<8}{"params":>12}{"params w/o SPyNet":>20}{"GMACs/frame":>14}{"w/o SPyNet":>12}{"CPU s/frame":>13}')
    for name, model in models.items():
        c = complexity(model)
        print(f'{name:<8}{c["params_total"]:>12,}{c["params_without_spynet"]:>20,}'
              f'{c["macs_total"] / 1e9:>14.2f}{c["macs_total_without_spynet"] / 1e9:>12.2f}'
              f'{secs[name] / clip.shape[1]:>13.3f}')
    print(f'({MAC_CONVENTION.format(h=h, w=w)}; latency: median of 3 runs of a 3-frame clip, '
          'channels-last; SPyNet trained from scratch, no pretrained weights)')
    print(f'pruned model: {cfg_path} + {ckpt_path}')


if __name__ == '__main__':
    main()
