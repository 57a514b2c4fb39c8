"""``ssl-mm``: use a (pruned) SSL-BasicVSR outside the pipeline.

  ssl-mm infer   CONFIG CHECKPOINT INPUT OUTPUT   upscale a video file or a frame folder
  ssl-mm flops   CONFIG [CHECKPOINT]              params and MACs per LR frame, by component
  ssl-mm prune   CONFIG CHECKPOINT --ratio R --out DIR   prune a network physically
  ssl-mm export  CONFIG CHECKPOINT --onnx FILE    ONNX export, checked against PyTorch
  ssl-mm import  AUTHORS_CHECKPOINT --out DIR     the SSL authors' pruned model_prune_final.pt as a pair
  ssl-mm tracking sync                            log to MLflow what a failed tracking server missed

CONFIG/CHECKPOINT: a pair written by the pipeline (``models/<method>/<name>.py|.pth``), its
``<name>_mmagic.py``, or an MMagic BasicVSR config and checkpoint. Bad input gets one line
naming the file and the fix (exit status 2).
"""
from __future__ import annotations

import argparse
import contextlib
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

# Only light modules here: arguments are parsed (and --help answered) before torch, MMagic and
# the rest load, inside the command that needs them.
from .criteria import CRITERIA, SCOPES
from .errors import DataError, ParamsError, exit_on_user_error, named_as

if TYPE_CHECKING:
    import numpy as np

VIDEO_SUFFIXES = ('.mp4', '.avi', '.mov', '.mkv', '.webm')


def _network(config: str, checkpoint: str | None = None):
    from mmagic.registry import MODELS
    from mmengine.config import Config

    from .pruning.checkpoint import load_network, network_config  # registers the networks too
    if not Path(config).is_file():
        raise DataError(f'{config}: config not found; pass a network config such as models/ssl/finetuned.py')
    if checkpoint is None:
        return MODELS.build(network_config(Config.fromfile(config), config))
    return load_network(config, checkpoint)


def read_input(path: Path) -> np.ndarray:
    """(t, h, w, 3) uint8 RGB frames of a video file or of a folder of images."""
    from .data.sources import frame_files, read_clip
    from .data.video import read_video
    if path.is_dir():
        return read_clip(tuple(frame_files(path)))
    if path.suffix.lower() in VIDEO_SUFFIXES and path.is_file():
        try:
            return read_video(path, multiple=1)
        except (ValueError, OSError, RuntimeError) as err:
            raise DataError(f'{path}: cannot decode this video ({str(err).splitlines()[0]}); check the file') from None
    raise DataError(f'{path}: not a frame folder or a video file ({", ".join(VIDEO_SUFFIXES)})')


def check_output(out: Path, overwrite: bool) -> None:
    """Refuse, before any work, an OUTPUT that could not be written or whose writing would lose
    something: a folder named like a video, a file where frames go, an existing output without
    ``--overwrite``, a folder that refuses writes."""
    video = out.suffix.lower() in VIDEO_SUFFIXES
    if video and out.is_dir():
        raise DataError(f'{out}: is a folder, not a video file; choose another OUTPUT')
    if not video and out.exists() and not out.is_dir():
        raise DataError(f'{out}: exists as a file, and frames go to a folder; choose another OUTPUT (or a video name: '
                        f'{", ".join(VIDEO_SUFFIXES)})')
    if not overwrite and (out.is_file() or (out.is_dir() and any(out.iterdir()))):
        raise DataError(f'{out}: exists{" and is not empty" if out.is_dir() else ""}; pass --overwrite to replace it '
                        f'whole, or choose another OUTPUT')
    parent = out.absolute().parent
    for folder in (parent, out) if out.is_dir() else (parent,):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=folder):  # root ignores permission bits: try a real write
                pass
        except OSError as err:
            raise DataError(f'{out}: cannot write in {folder} ({err.strerror}); choose a writable OUTPUT') from None


def write_output(frames, out: Path, fps: float) -> None:
    """Frames (an iterator of (h, w, 3) uint8 RGB) to an mp4, or to ``%08d.png`` in a folder; both
    written aside and moved into place whole (a folder replaces the old one: no stale frames)."""
    import cv2
    import numpy as np

    from .io import atomic_dir, atomic_path
    try:
        if out.suffix.lower() in VIDEO_SUFFIXES:
            import imageio_ffmpeg
            with atomic_path(out, keep_suffix=True) as tmp:  # ffmpeg picks the container by the suffix
                writer = None
                for frame in frames:
                    if writer is None:
                        writer = imageio_ffmpeg.write_frames(str(tmp), (frame.shape[1], frame.shape[0]), fps=fps,
                                                             quality=8, macro_block_size=1)
                        writer.send(None)
                    writer.send(np.ascontiguousarray(frame))
                if writer is not None:
                    writer.close()
            return
        with atomic_dir(out) as tmp:
            for i, frame in enumerate(frames):
                if not cv2.imwrite(str(tmp / f'{i:08d}.png'), frame[:, :, ::-1]):
                    raise OSError(f'cv2.imwrite could not write {tmp / f"{i:08d}.png"}')
    except (OSError, RuntimeError) as err:  # a full disk, a folder gone read-only, ffmpeg failing
        raise DataError(f'{out}: writing failed ({type(err).__name__}: {str(err).strip().splitlines()[0][:200]}); '
                        f'nothing was written: free space or choose another OUTPUT') from None


def infer(args) -> None:
    import torch

    from .eval.evaluate import network_upscaler
    from .pruning.permute import contiguous_hidden_state
    from .runtime import compiled, for_cpu_inference, keep_freed_memory_for_reuse
    if args.max_seq_len is not None and args.max_seq_len < 1:
        raise ParamsError(f'--max-seq-len={args.max_seq_len}: use a positive number of frames')
    if args.engine == 'onnxruntime' and args.device != 'cpu':
        raise ParamsError(f'--device {args.device}: --engine onnxruntime runs on the CPU; drop --device')
    check_output(Path(args.output), args.overwrite)
    net = contiguous_hidden_state(_network(args.config, args.checkpoint))  # same function, fewer gathers
    lr = read_input(Path(args.input))
    with contextlib.ExitStack() as stack:
        if args.engine == 'onnxruntime':
            from .export import OnnxRuntimeNet
            cache = args.onnx_dir or stack.enter_context(tempfile.TemporaryDirectory(prefix='ssl-mm-onnx-'))
            net = OnnxRuntimeNet(net, cache, threads=torch.get_num_threads())  # main() applied SSL_MM_THREADS
        elif args.device == 'cpu':
            keep_freed_memory_for_reuse()
            net = for_cpu_inference(net)
        if args.engine == 'compile':
            net = compiled(net)
        _upscale_clip(network_upscaler(net, args.device), lr, net.upscale_factor, args)


def _upscale_clip(upscale, lr: np.ndarray, factor: int, args) -> None:
    """The clip through ``upscale`` in chunks of ``--max-seq-len`` frames, with a progress bar,
    written frame by frame as each chunk is done."""
    import numpy as np
    from tqdm import tqdm

    step = args.max_seq_len or len(lr)

    def frames():
        with tqdm(total=len(lr), unit='frame', desc=f'x{factor} {Path(args.input).name}') as bar:
            for start in range(0, len(lr), step):
                out = upscale(lr[start:start + step])
                for frame in out:
                    yield np.round(frame * 255).astype(np.uint8)
                bar.update(len(out))

    write_output(frames(), Path(args.output), args.fps)
    print(f'{len(lr)} frames {lr.shape[2]}x{lr.shape[1]} -> {args.output}')


def flops(args) -> None:
    from .flops import MAC_CONVENTION, complexity
    net = _network(args.config, args.checkpoint)
    cost = complexity(net, tuple(args.lr_size))
    print(MAC_CONVENTION.format(h=args.lr_size[0], w=args.lr_size[1]))
    for key in ('macs_spynet', 'macs_propagation', 'macs_reconstruction', 'macs_total_without_spynet', 'macs_total'):
        print(f'  {key.removeprefix("macs_"):<22} {cost[key] / 1e9:12.3f} GMACs')
    for key in ('params_total', 'params_without_spynet', 'params_scales'):
        print(f'  {key:<22} {cost[key]:12,d}')


def prune_command(args) -> None:
    from .flops import complexity
    from .pruning import pick_pruned, prune, save_network
    net = _network(args.config, args.checkpoint).eval()
    with named_as(ratio='--ratio', criterion='--criterion', scope='--scope', align='--align'):
        pruned = pick_pruned(net, args.ratio, args.criterion, scope=args.scope, align_residual=args.align_residual,
                             align=args.align)
    compact = prune(net, pruned)
    cfg, ckpt = save_network(compact, args.out, args.name, meta=dict(source=str(args.checkpoint), ratio=args.ratio))
    before, after = complexity(net, tuple(args.lr_size)), complexity(compact, tuple(args.lr_size))
    print(f'{cfg} + {ckpt} (+ {args.name}_mmagic.py): params {before["params_total"]:,} -> {after["params_total"]:,}, '
          f'GMACs/frame {before["macs_total"] / 1e9:.2f} -> {after["macs_total"] / 1e9:.2f}')


def export(args) -> None:
    from .export import export_onnx
    net = _network(args.config, args.checkpoint).eval()
    with named_as(frames='--frames', lr_size='--lr-size'):
        worst = export_onnx(net, args.onnx, frames=args.frames, lr_size=tuple(args.lr_size))
    print(f'{args.onnx}: onnxruntime matches PyTorch (max abs diff {worst:.2e})')


def import_command(args) -> None:
    from .flops import complexity
    from .models.authors_pruned import authors_pruned_network
    from .models.foreign import local_file
    from .pruning import save_network
    net = authors_pruned_network(local_file(args.checkpoint, 'AUTHORS_CHECKPOINT'))
    cfg, ckpt = save_network(net, args.out, args.name, meta=dict(source=str(args.checkpoint), origin='ssl_authors'))
    cost = complexity(net, tuple(args.lr_size))
    print(f'{cfg} + {ckpt} (+ {args.name}_mmagic.py): {net.num_blocks} blocks per branch, params '
          f'{cost["params_total"]:,}, GMACs/frame {cost["macs_total"] / 1e9:.2f}')


def tracking_sync(args) -> None:
    from .params import load_params
    from .tracking_sync import sync
    counts = sync(load_params())
    print(f"tracking sync: {counts['logged']} record(s) logged, {counts['already_logged']} already logged, "
          f"{counts['closed_as_failed']} run(s) left RUNNING marked FAILED")


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog='ssl-mm', description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = root.add_subparsers(dest='command', required=True)

    def network_args(p, checkpoint_optional=False):
        p.add_argument('config', help='network config (.py) written by ssl-mm, or an MMagic BasicVSR config')
        p.add_argument('checkpoint', nargs='?' if checkpoint_optional else None,
                       help='its weights (.pth)' + (' (not needed: MACs depend on the config only)' if checkpoint_optional else ''))

    p = sub.add_parser('infer', help='upscale a video file or a folder of frames',
                       description='Super-resolve every frame of INPUT (a video file or a folder of images) and '
                                   'write OUTPUT: an .mp4 (H.264) or a folder of %%08d.png. Recurrent, so whole '
                                   'clips run at once unless --max-seq-len splits them.')
    network_args(p)
    p.add_argument('input', help='video file (.mp4, .avi, ...) or folder of LR frames')
    p.add_argument('output', help='output .mp4, or a folder for PNG frames')
    p.add_argument('--max-seq-len', type=int, default=None, help='run the clip in chunks of this many frames (memory)')
    p.add_argument('--device', default='cpu', help='cpu or cuda[:N]')
    p.add_argument('--engine', choices=['pytorch', 'compile', 'onnxruntime'], default='pytorch',
                   help='pytorch (default); compile: torch.compile (inductor) of the per-frame parts, CPU or CUDA, '
                        'worth it for long clips (the first chunk compiles); onnxruntime: the network exported to '
                        'ONNX (once per chunk shape) and run by ONNX Runtime on the CPU')
    p.add_argument('--onnx-dir', help='--engine onnxruntime: keep the exported .onnx files here and reuse them '
                                      '(default: a temporary folder)')
    p.add_argument('--fps', type=float, default=25.0, help='frame rate of an .mp4 output')
    p.add_argument('--overwrite', action='store_true',
                   help='replace an existing OUTPUT whole (default: refuse it; a non-empty folder too)')
    p.set_defaults(run=infer)

    p = sub.add_parser('flops', help='params and MACs per LR frame, by component',
                       description='Count MACs (fvcore convention, per LR frame, both SPyNet flows included) '
                                   'and parameters of a network.')
    network_args(p, checkpoint_optional=True)
    p.add_argument('--lr-size', type=int, nargs=2, default=[180, 320], metavar=('H', 'W'))
    p.set_defaults(run=flops)

    p = sub.add_parser('prune', help='prune a network physically at a ratio',
                       description='Remove the lowest-ranked units and save the smaller network (config, '
                                   'MMagic config, checkpoint). Without a sparsity search first, this is '
                                   'one-shot pruning; the pipeline does the full SSL method.')
    network_args(p)
    p.add_argument('--ratio', type=float, required=True, help='fraction of scale entries to remove, in (0, 1)')
    p.add_argument('--criterion', choices=sorted(CRITERIA), default=next(iter(CRITERIA)),
                   help='unit ranking (default %(default)s): scale = |scale| (SSL), l1 = weight L1')
    p.add_argument('--scope', choices=SCOPES, default=SCOPES[0], help='rank globally or per layer')
    p.add_argument('--align-residual', action='store_true', help='ASSL-style: one channel set per branch')
    p.add_argument('--align', type=int, default=1, help='keep a multiple of N units per layer at the same budget '
                   '(16 for 64-channel networks on AVX-512 CPUs and tensor-core GPUs; 1: none)')
    p.add_argument('--out', required=True, help='output folder')
    p.add_argument('--name', default='pruned', help='file name stem')
    p.add_argument('--lr-size', type=int, nargs=2, default=[180, 320], metavar=('H', 'W'))
    p.set_defaults(run=prune_command)

    p = sub.add_parser('export', help='ONNX export, checked with onnxruntime',
                       description='Export to ONNX for a fixed number of frames and LR size (the recurrence is '
                                   'unrolled), then run onnxruntime and compare with PyTorch.')
    network_args(p)
    p.add_argument('--onnx', required=True, help='output .onnx file')
    p.add_argument('--frames', type=int, default=5)
    p.add_argument('--lr-size', type=int, nargs=2, default=[64, 64], metavar=('H', 'W'))
    p.set_defaults(run=export)

    p = sub.add_parser('import', help="the SSL authors' pruned checkpoint as an ssl-mm network",
                       description="Convert the SSL authors' pruned model (model_prune_final.pt, or "
                                   "model_prune_optimization.pt before finetuning: kept index lists + state_dict, "
                                   "BasicSR names) into a network config, an MMagic config and a checkpoint that "
                                   "every other command, MMagic's init_model and the pipeline load. Their pickled "
                                   "network object becomes an inert stand-in (no code in the file runs): BasicSR "
                                   "need not be installed.")
    p.add_argument('checkpoint', metavar='AUTHORS_CHECKPOINT', help='their model_prune_final.pt (a local file)')
    p.add_argument('--out', required=True, help='output folder')
    p.add_argument('--name', default='authors', help='file name stem (default %(default)s)')
    p.add_argument('--lr-size', type=int, nargs=2, default=[180, 320], metavar=('H', 'W'))
    p.set_defaults(run=import_command)

    p = sub.add_parser('tracking', help='MLflow: log what a failed tracking server missed',
                       description='Run from the repository root, against the store MLFLOW_TRACKING_URI names '
                                   '(else mlflow.db).')
    p.add_argument('action', choices=['sync'],
                   help="sync: log every DVC metrics record that no finished run carries (once: a second sync "
                        "logs nothing), and mark runs a failure left RUNNING as FAILED")
    p.set_defaults(run=tracking_sync)
    return root


@exit_on_user_error
def main() -> None:
    args = parser().parse_args()
    import torch
    torch.set_num_threads(int(os.environ.get('SSL_MM_THREADS', torch.get_num_threads())))
    args.run(args)


if __name__ == '__main__':
    main()
