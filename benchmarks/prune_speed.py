"""Dense vs physically pruned SSL-BasicVSR: params, MACs and measured wall-clock.

Prints, per architecture and prune ratio: params, MAC ratio (dense / pruned, per LR frame, with
and without SPyNet), measured speed-up (fastest of --repeats runs, interleaved with the dense runs
in the same process) and speed-up / MAC ratio (1.0 = every saved MAC turned into saved time).

The sparsified model has random |scales| (seeded), as after a search; pruning ranks them globally.
On CPU both dense and pruned run channels-last with glibc keeping freed memory (see
ssl_mm.flops); --plain measures the untuned NCHW setting.

    .venv/bin/python benchmarks/prune_speed.py                 # paper 64/30/x4 at 180x320 + small
    .venv/bin/python benchmarks/prune_speed.py --archs small --repeats 5
"""
from __future__ import annotations

import argparse

import torch

from ssl_mm.flops import MAC_CONVENTION, complexity, latencies
from ssl_mm.models import SSLBasicVSRNet
from ssl_mm.pruning import pick_pruned, prune, round_kept, scale_groups
from ssl_mm.runtime import for_cpu_inference, keep_freed_memory_for_reuse

ARCHS = {
    'paper': dict(net=dict(mid_channels=64, num_blocks=30, hr_channels=64), lr_size=(180, 320), frames=3),
    'small': dict(net=dict(mid_channels=16, num_blocks=4, hr_channels=16), lr_size=(180, 320), frames=3),
}


def sparsified(net_cfg: dict, seed: int = 0) -> SSLBasicVSRNet:
    net = SSLBasicVSRNet(**net_cfg).eval()
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for group in scale_groups(net):
            group.scale.copy_(torch.rand(group.scale.shape, generator=gen) + 0.01)
    return net


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--archs', nargs='+', default=list(ARCHS), choices=list(ARCHS))
    parser.add_argument('--ratios', nargs='+', type=float, default=[0.25, 0.5, 0.75])
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--frames', type=int, default=None, help='clip length (default per arch)')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--threads', type=int, default=torch.get_num_threads())
    parser.add_argument('--round-to', type=int, default=1,
                        help='round kept widths up to a multiple of this (see round_kept)')
    parser.add_argument('--plain', action='store_true',
                        help='NCHW and default allocator: no channels-last, no malloc tuning')
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.device == 'cpu' and not args.plain:
        keep_freed_memory_for_reuse()

    for arch in args.archs:
        spec = ARCHS[arch]
        h, w = spec['lr_size']
        frames = args.frames or spec['frames']
        dense = sparsified(spec['net'])
        models = {'dense': dense}
        models.update({f'{r:g}': prune(dense, round_kept(dense, pick_pruned(dense, r), args.round_to))
                       for r in args.ratios})
        if args.device == 'cpu' and not args.plain:
            models = {k: for_cpu_inference(m) for k, m in models.items()}
        models = {k: m.to(args.device) for k, m in models.items()}
        clip = torch.rand(1, frames, 3, h, w, generator=torch.Generator().manual_seed(1)).to(args.device)
        secs = latencies(models, clip, args.repeats)
        cost = {name: complexity(m.cpu(), (h, w)) for name, m in models.items()}

        net = spec['net']
        print(f'\n== {arch}: {net["mid_channels"]} ch, {net["num_blocks"]} blocks, x4, LR {h}x{w}, '
              f'{frames} frames, {args.device}, {args.threads} threads, '
              f'{"NCHW" if args.plain else "channels-last"}, round_to {args.round_to}, '
              f'fastest of {args.repeats} ==')
        print(f'{"ratio":>6} {"params":>11} {"GMACs":>8} {"MAC ratio":>10} {"(no SPyNet)":>12} '
              f'{"s/frame":>8} {"speed-up":>9} {"speed-up/MAC ratio":>19}')
        # MACs of the timed clip: every frame's body, SPyNet on (frames - 1) pairs both ways.
        clip_macs = {n: frames * c['macs_total_without_spynet'] + (frames - 1) * c['macs_spynet']
                     for n, c in cost.items()}
        for name in models:
            c = cost[name]
            mac_ratio = clip_macs['dense'] / clip_macs[name]
            body_ratio = cost['dense']['macs_total_without_spynet'] / c['macs_total_without_spynet']
            speedup = secs['dense'] / secs[name]
            print(f'{name:>6} {c["params_total"]:>11,} {c["macs_total"] / 1e9:>8.1f} {mac_ratio:>10.2f} '
                  f'{body_ratio:>12.2f} {secs[name] / frames:>8.3f} {speedup:>9.2f} {speedup / mac_ratio:>19.2f}')
        print(f'({MAC_CONVENTION.format(h=h, w=w)})')


if __name__ == '__main__':
    main()
