"""Where a pruned paper-size SSL-BasicVSR spends its CPU time, beside the dense one: the
``torch.profiler`` operator table (self time) of one inference on a short clip.

    .venv/bin/python benchmarks/profile_pruned.py [--ratio 0.5] [--frames 4] [--rows 12]

Shows how the time splits between the (odd-width) convolutions, the RSC gather / scatter_add,
grid_sample (warping) and the pixel shuffle; benchmarks/prune_speed.py gives the end-to-end ratios.
"""
from __future__ import annotations

import argparse

import torch
from prune_speed import ARCHS, sparsified
from torch.profiler import ProfilerActivity, profile

from ssl_mm.pruning import pick_pruned, prune
from ssl_mm.runtime import for_cpu_inference, keep_freed_memory_for_reuse


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--ratio', type=float, default=0.5)
    parser.add_argument('--frames', type=int, default=4)
    parser.add_argument('--rows', type=int, default=12)
    args = parser.parse_args()
    keep_freed_memory_for_reuse()
    dense = sparsified(ARCHS['paper']['net'])
    clip = torch.rand(1, args.frames, 3, *ARCHS['paper']['lr_size'], generator=torch.Generator().manual_seed(1))
    for name, net in [(f'pruned at {args.ratio:g}', prune(dense, pick_pruned(dense, args.ratio))), ('dense', dense)]:
        net = for_cpu_inference(net)
        with torch.inference_mode():
            net(clip)  # warm-up: oneDNN primitive caches, allocator
            with profile(activities=[ProfilerActivity.CPU]) as prof:
                net(clip)
        print(f'== {name}, {args.frames} frames at LR 180x320, {torch.get_num_threads()} threads')
        print(prof.key_averages().table(sort_by='self_cpu_time_total', row_limit=args.rows, max_name_column_width=28))


if __name__ == '__main__':
    main()
