"""Dense vs physically pruned SSL-BasicVSR: params, MACs and measured wall-clock.

Prints, per architecture and prune ratio: params, MAC ratio (dense / pruned, per LR frame, with
and without SPyNet), measured speed-up (fastest of --repeats runs, interleaved with the dense runs
in the same process) and speed-up / MAC ratio (1.0 = every saved MAC turned into saved time).

The sparsified model has random |scales| (seeded), as after a search; pruning ranks them globally.
On CPU both dense and pruned run channels-last with glibc keeping freed memory (see
ssl_mm.flops); --plain measures the untuned NCHW setting.

    .venv/bin/python benchmarks/prune_speed.py                 # paper 64/30/x4 at 180x320 + small
    .venv/bin/python benchmarks/prune_speed.py --archs small --repeats 5
    .venv/bin/python benchmarks/prune_speed.py --device cuda --dtype float16
    .venv/bin/python benchmarks/prune_speed.py --archs paper --ratios 0.5 --frames 8 --align 16 --engine compile

--align N [M ...] adds, beside each ratio's pick, the same ratio aligned to N (``prune.align``:
every layer keeps a multiple of N channels at the same MACs; rows ``0.5@16``), with its speed-up
against the MAC ratio of the unaligned pick. --engine compile runs dense and pruned through
torch.compile (inductor; ``ssl_mm.runtime.compiled``); the compile time (first call) is a
column of its own, not part of s/frame.

Each run also writes its table, with the machine, threads and date, to
``benchmarks/results/prune_speed_<device>[_<dtype>].{md,csv}`` (--out, '' to skip).
"""
from __future__ import annotations

import argparse
import datetime
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import torch

from ssl_mm.export import OnnxRuntimeNet
from ssl_mm.flops import MAC_CONVENTION, complexity, latencies
from ssl_mm.models import SSLBasicVSRNet
from ssl_mm.pruning import pick_pruned, prune, scale_groups
from ssl_mm.pruning.permute import contiguous_hidden_state, gathers
from ssl_mm.runtime import compiled, cpu_name, for_cpu_inference, keep_freed_memory_for_reuse

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


class CudaGraphReplay(torch.nn.Module):
    """``model(clip)`` captured once as a CUDA graph and replayed: one launch for the whole clip
    instead of one per kernel (the pruned network has more, smaller kernels than the dense one).
    Valid for this one input tensor, which the benchmark reuses."""

    def __init__(self, model: torch.nn.Module, clip: torch.Tensor) -> None:
        super().__init__()
        # The mirror check reads a value on the host, which a capture forbids; a random clip is no mirror.
        model.check_if_mirror_extended = lambda lrs: setattr(model, 'is_mirror_extended', False)
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side), torch.inference_mode():
            for _ in range(2):
                model(clip)
        torch.cuda.current_stream().wait_stream(side)
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph), torch.inference_mode():
            self.out = model(clip)

    def forward(self, clip: torch.Tensor) -> torch.Tensor:
        self.graph.replay()
        return self.out


def cpu_isa() -> str:
    """The CPU's widest vector extension: AVX-512, AVX2 or 'no AVX2'."""
    cpuinfo = Path('/proc/cpuinfo').read_text() if Path('/proc/cpuinfo').exists() else ''
    return 'AVX-512' if ' avx512f' in cpuinfo else 'AVX2' if ' avx2' in cpuinfo else 'no AVX2'


def simd_width() -> int:
    """float32 lanes of the CPU's widest vector unit: oneDNN computes a convolution's output
    channels in blocks of this many (16 with AVX-512, 8 with AVX2)."""
    return 16 if cpu_isa() == 'AVX-512' else 8


@torch.inference_mode()
def blocked_macs(net: torch.nn.Module, lr_size: tuple[int, int], block: int) -> dict[str, float]:
    """Conv MACs per frame (body) and per frame pair (SPyNet, both ways) with each conv's output
    channels rounded up to ``block``: what oneDNN's CPU kernels compute, so the speed-up the
    kernels can give at most (measured per conv: time ~ in_channels x ceil(out_channels / 16)
    on AVX-512; 31->33 channels takes as long as 32->48)."""
    total = {'body': 0.0, 'spynet': 0.0}

    def count(name):
        def hook(module, inputs, output):
            out = -(-module.out_channels // block) * block
            part = 'spynet' if name.startswith('spynet') else 'body'
            total[part] += module.in_channels // module.groups * module.kernel_size[0] * module.kernel_size[1] \
                * out * output.shape[-2] * output.shape[-1]
        return hook

    hooks = [m.register_forward_hook(count(n)) for n, m in net.named_modules() if isinstance(m, torch.nn.Conv2d)]
    try:
        net.eval()(torch.zeros(1, 2, 3, *lr_size))  # two frames: one SPyNet pair both ways
    finally:
        for h in hooks:
            h.remove()
    return {'body': total['body'] / 2, 'spynet': total['spynet']}


def machine(device: str, threads: int) -> str:
    """One line naming what the numbers were measured on (they only compare within a machine)."""
    if device.startswith('cuda'):
        return f'{torch.cuda.get_device_name(device)}, CUDA {torch.version.cuda}'
    return f'{cpu_name()} ({cpu_isa()}), {threads} threads'


def write_results(rows: list[dict], out: Path, stem: str, header: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    table = pd.DataFrame(rows)
    table.to_csv(out / f'{stem}.csv', index=False, float_format='%.4g')
    (out / f'{stem}.md').write_text(f'{header}\n\n{table.to_markdown(index=False, floatfmt=".3g")}\n')
    print(f'wrote {out / stem}.md and .csv')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--archs', nargs='+', default=list(ARCHS), choices=list(ARCHS))
    parser.add_argument('--ratios', nargs='+', type=float, default=[0.25, 0.5, 0.75])
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--frames', type=int, default=None, help='clip length (default per arch)')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--dtype', default='float32', choices=['float32', 'float16', 'bfloat16'])
    parser.add_argument('--engine', choices=['pytorch', 'compile', 'onnxruntime'], default='pytorch',
                        help='pytorch (eager, as `ssl-mm infer` runs it), compile (torch.compile, inductor) or '
                             'onnxruntime (CPU; the exported graph); dense and pruned always run on the same one')
    parser.add_argument('--cuda-graph', action='store_true', help='CUDA: replay each model as one CUDA graph')
    parser.add_argument('--out', default='benchmarks/results', help="results folder ('' to skip)")
    parser.add_argument('--threads', type=int, default=torch.get_num_threads())
    parser.add_argument('--align', type=int, nargs='+', default=[1],
                        help='also time each ratio aligned to these many channels (prune.align; 1: unaligned only)')
    parser.add_argument('--plain', action='store_true',
                        help='NCHW and default allocator: no channels-last, no malloc tuning')
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    onnxruntime, compiling = args.engine == 'onnxruntime', args.engine == 'compile'
    if onnxruntime and (args.device != 'cpu' or args.cuda_graph or args.dtype != 'float32'):
        parser.error('--engine onnxruntime runs float32 on the CPU: drop --device/--cuda-graph/--dtype')
    if args.device == 'cpu' and not args.plain:
        keep_freed_memory_for_reuse()
    onnx_dir = tempfile.TemporaryDirectory(prefix='prune-speed-onnx-')  # exported graphs, deleted at exit

    dtype, block = getattr(torch, args.dtype), simd_width()
    aligns = [n for n in args.align if n > 1]
    engine = ('onnxruntime' if onnxruntime else 'torch.compile' + (' CUDA graph' if args.cuda_graph else '')
              if compiling else 'pytorch CUDA graph' if args.cuda_graph else 'pytorch eager')
    rows = []
    for arch in args.archs:
        spec = ARCHS[arch]
        h, w = spec['lr_size']
        frames = args.frames or spec['frames']
        dense = sparsified(spec['net'])
        models, unaligned = {'dense': dense}, {}
        for r in args.ratios:
            models[f'{r:g}'] = prune(dense, pick_pruned(dense, r))
            for n in aligns:
                models[f'{r:g}@{n}'] = prune(dense, pick_pruned(dense, r, align=n))
                unaligned[f'{r:g}@{n}'] = f'{r:g}'
        # As exported and run (ssl-mm export/infer): hidden-state channels reordered into runs.
        as_pruned = {name: gathers(m) for name, m in models.items()}
        models = {name: contiguous_hidden_state(m) for name, m in models.items()}
        moves = {name: f'{sum(as_pruned[name].values())} -> {sum(gathers(m).values())}' for name, m in models.items()}
        cost = {name: complexity(m, (h, w)) for name, m in models.items()}
        # oneDNN's output-channel blocks bound the CPU kernels only: no such column for CUDA.
        blocked = {name: blocked_macs(m, (h, w), block) for name, m in models.items()} if args.device == 'cpu' else {}
        if onnxruntime:  # exported during latencies' warm-up run, so not timed
            models = {k: OnnxRuntimeNet(m, onnx_dir.name, args.threads) for k, m in models.items()}
        elif args.device == 'cpu' and not args.plain:
            models = {k: for_cpu_inference(m) for k, m in models.items()}
        models = {k: m.to(args.device, dtype) for k, m in models.items()}
        clip = torch.rand(1, frames, 3, h, w, generator=torch.Generator().manual_seed(1)).to(args.device, dtype)
        compile_s = {}
        if compiling:  # the first call compiles: timed on its own, then warm for latencies()
            for k, m in models.items():
                models[k] = compiled(m)
                start = time.perf_counter()
                with torch.inference_mode():
                    models[k](clip)
                compile_s[k] = time.perf_counter() - start
        if args.cuda_graph:
            models = {k: CudaGraphReplay(m, clip) for k, m in models.items()}
        secs = latencies(models, clip, args.repeats)

        net, layout = spec['net'], 'channels-last' if args.device == 'cpu' and not (args.plain or onnxruntime) else 'NCHW'
        print(f'\n== {arch}: {net["mid_channels"]} ch, {net["num_blocks"]} blocks, x4, LR {h}x{w}, '
              f'{frames} frames, {engine}, {args.device} {args.dtype}, {args.threads} threads, '
              f'{layout}, fastest of {args.repeats} ==')
        print(f'{"ratio":>6} {"params":>11} {"GMACs":>8} {"MAC ratio":>10} {"(no SPyNet)":>12} '
              f'{"(blocked)":>10} {"s/frame":>8} {"speed-up":>9} {"speed-up/MAC ratio":>19}')
        # MACs of the timed clip: every frame's body, SPyNet on (frames - 1) pairs both ways.
        clip_macs = {n: frames * c['macs_total_without_spynet'] + (frames - 1) * c['macs_spynet']
                     for n, c in cost.items()}
        clip_blocked = {n: frames * b['body'] + (frames - 1) * b['spynet'] for n, b in blocked.items()}
        for name in models:
            c = cost[name]
            mac_ratio = clip_macs['dense'] / clip_macs[name]
            body_ratio = cost['dense']['macs_total_without_spynet'] / c['macs_total_without_spynet']
            blocked_ratio = clip_blocked['dense'] / clip_blocked[name] if blocked else float('nan')
            speedup = secs['dense'] / secs[name]
            print(f'{name:>6} {c["params_total"]:>11,} {c["macs_total"] / 1e9:>8.1f} {mac_ratio:>10.2f} '
                  f'{body_ratio:>12.2f} {blocked_ratio:>10.2f} {secs[name] / frames:>8.3f} {speedup:>9.2f} '
                  f'{speedup / mac_ratio:>19.2f}   gathers + scatters {moves[name]}')
            bound = {f'MAC ratio ({block}-channel blocks)': blocked_ratio} if blocked else {}
            against = unaligned.get(name)  # an aligned pick: its speed-up against the unaligned pick's MAC ratio
            extra = ({'MAC ratio of the unaligned pick': clip_macs['dense'] / clip_macs[against],
                      'speed-up / unaligned MAC ratio': speedup * clip_macs[against] / clip_macs['dense']}
                     if against else {})
            if against:
                print(f'{"":>6} against the unaligned pick\'s MAC ratio {extra["MAC ratio of the unaligned pick"]:.2f}: '
                      f'{extra["speed-up / unaligned MAC ratio"]:.2f}')
            if compiling:
                extra['compile s (first call)'] = compile_s[name]
            extra['gathers + scatters (as pruned -> reordered)'] = moves[name]
            rows.append({'arch': arch, 'engine': engine, 'frames': frames, 'ratio': name,
                         'params': c['params_total'], 'GMACs': c['macs_total'] / 1e9, 'MAC ratio': mac_ratio,
                         'MAC ratio (no SPyNet)': body_ratio, **bound, 's/frame': secs[name] / frames,
                         'speed-up': speedup, 'speed-up / MAC ratio': speedup / mac_ratio,
                         **({'speed-up / blocked MAC ratio': speedup / blocked_ratio} if blocked else {}), **extra})
        print(f'({MAC_CONVENTION.format(h=h, w=w)})')
    if args.out:
        device = args.device.split(':')[0]
        header = (f'# Dense vs pruned SSL-BasicVSR: speed-up against MAC ratio ({engine}, {device}, {args.dtype})\n\n'
                  f'Machine: {machine(args.device, args.threads)}. torch {torch.__version__}. '
                  f'{datetime.date.today()}. {layout}, fastest of {args.repeats} interleaved runs'
                  + ('; rows r@N: ratio r aligned to N channels (prune.align)' if aligns else '') + '.\n'
                  f'MAC ratio: dense / pruned MACs of the timed clip (every frame\'s body, SPyNet on frames - 1 '
                  f'pairs both ways); GMACs: {MAC_CONVENTION.format(h=h, w=w)}. '
                  + (f'Blocked MAC ratio: the same with each conv\'s output channels rounded up to the {block} float '
                     f'lanes oneDNN computes them in on this CPU (a 33-filter conv costs what a 48-filter one does), '
                     f'the most its kernels can give at these widths. ' if args.device == 'cpu' else '')
                  + f'Regenerate: '
                  f'`.venv/bin/python benchmarks/prune_speed.py {" ".join(sys.argv[1:])}`.')
        stem = (f'prune_speed_{device}' + ('' if args.engine == 'pytorch' else f'_{args.engine}')
                + ('' if args.dtype == 'float32' else f'_{args.dtype}') + ('_graph' if args.cuda_graph else '')
                + ''.join(f'_align{n}' for n in aligns))
        write_results(rows, Path(args.out), stem, header)


if __name__ == '__main__':
    main()
