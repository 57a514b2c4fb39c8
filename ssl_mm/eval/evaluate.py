"""Score an upscaler on a test set under its protocol: per-clip and per-set PSNR / SSIM.

Metrics are MMagic's ``psnr`` / ``ssim`` functions on uint8 frames (outputs clamped to [0, 1],
x255, rounded, as BasicSR's ``tensor2img``); Y is BT.601 "MATLAB" luma. Averages are per clip,
then over clips. The Bicubic baseline runs through the same code.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import torch
from mmagic.evaluation.metrics.metrics_utils import img_transform
from mmagic.evaluation.metrics.psnr import psnr
from mmagic.evaluation.metrics.ssim import ssim
from tqdm import tqdm

from ..data.degradations import imresize_matlab
from ..data.sources import Clip, check_scale, read_clip
from ..io import atomic_path
from .protocols import Protocol

# (t, h, w, 3) uint8 LR -> (t, s*h, s*w, 3) float in [0, 1]
Upscaler = Callable[[np.ndarray], np.ndarray]


def bicubic_upscaler(scale: int = 4) -> Upscaler:
    """MATLAB bicubic x``scale`` per frame (the Bicubic row of the paper tables)."""
    def upscale(lr: np.ndarray) -> np.ndarray:
        return np.stack([imresize_matlab(f, scale) for f in lr]).astype(np.float32) / 255

    upscale.frame_wise = True  # each frame alone: a mirrored pass would give the same frames again
    return upscale


def network_upscaler(net: torch.nn.Module, device: str | torch.device = 'cpu') -> Upscaler:
    """A VSR network on a whole (chunk of a) clip."""
    net = net.eval().to(device)

    @torch.inference_mode()
    def run(lr: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(lr).to(device).permute(0, 3, 1, 2).float().div_(255).unsqueeze(0)
        return net(x)[0].clamp_(0, 1).permute(0, 2, 3, 1).cpu().numpy()

    return run


def super_resolve(upscaler: Upscaler, lr: np.ndarray, protocol: Protocol) -> np.ndarray:
    """Apply the protocol's test-time handling (mirror averaging, chunking); uint8 output."""
    flip = protocol.flip_seq and not getattr(upscaler, 'frame_wise', False)  # 0.5 * (a + a) == a exactly
    seq = np.concatenate([lr, lr[::-1]]) if flip else lr
    step = protocol.max_seq_len or len(seq)
    out = np.concatenate([upscaler(seq[i:i + step]) for i in range(0, len(seq), step)])
    if flip:
        out = 0.5 * (out[:len(lr)] + out[len(lr):][::-1])
    return np.round(np.clip(out, 0, 1) * 255).astype(np.uint8)


def _views(frame: np.ndarray, protocol: Protocol) -> dict[str, np.ndarray]:
    """The frame as each metric of ``protocol`` reads it: RGB as it is, Y converted once here
    (MMagic's own conversion, so the scores are the ones ``convert_to='Y'`` gives)."""
    channels = set(protocol.psnr_on) | set(protocol.ssim_on)
    views = {'RGB': frame} if 'RGB' in channels else {}
    if 'Y' in channels:
        views['Y'] = img_transform(frame, input_order='HWC', convert_to='Y', channel_order='rgb')
    return views


def _scores(gt: dict[str, np.ndarray], sr: dict[str, np.ndarray], protocol: Protocol) -> dict[str, float]:
    row = {}
    for name, fn, channels in (('psnr', psnr, protocol.psnr_on), ('ssim', ssim, protocol.ssim_on)):
        for channel in channels:
            row[f'{name}_{channel.lower()}'] = float(fn(gt[channel], sr[channel], crop_border=protocol.crop_border,
                                                         input_order='HWC', convert_to=None))
    return row


def frame_scores(gt: np.ndarray, sr: np.ndarray, protocol: Protocol) -> dict[str, float]:
    """One uint8 frame's metrics under ``protocol`` (what :func:`evaluate` averages per clip)."""
    return _scores(_views(gt, protocol), _views(sr, protocol), protocol)


def evaluate(upscalers: dict[str, Upscaler], clips: list[Clip], protocol: Protocol,
             scale: int = 4) -> pd.DataFrame:
    """One row per method (key of ``upscalers``) and clip: frames scored and the mean of each
    metric over them. Each clip is read, and its GT converted, once for all the methods."""
    rows = []
    for clip in tqdm(clips, desc=f'{", ".join(upscalers)} on {protocol.name}', unit='clip'):
        lr, gt = read_clip(clip.lr[:protocol.max_frames]), read_clip(clip.gt[:protocol.max_frames])
        check_scale(lr, gt, scale, clip.lr[0].parent)
        frames = [len(lr) // 2] if protocol.center_frame_only else range(len(lr))
        gt_views = [_views(gt[t], protocol) for t in frames]
        for method, upscaler in upscalers.items():
            sr = super_resolve(upscaler, lr, protocol)
            per_frame = pd.DataFrame([_scores(g, _views(sr[t], protocol), protocol) for g, t in zip(gt_views, frames)])
            rows.append({'method': method, 'set': protocol.name, 'clip': clip.name,
                         'frames': len(per_frame), **per_frame.mean().to_dict()})
    order = list(upscalers)
    return pd.DataFrame(sorted(rows, key=lambda row: order.index(row['method'])))  # by method, as the tables


def summarize(per_clip: pd.DataFrame) -> pd.DataFrame:
    """Mean over clips of the per-clip means, per method and set."""
    metrics = [c for c in per_clip.columns if c.startswith(('psnr_', 'ssim_'))]
    return per_clip.groupby(['method', 'set'], sort=False)[metrics].mean().reset_index()


def write_results(per_clip: pd.DataFrame, out_dir: str | Path, protocols: dict[str, Protocol]) -> dict:
    """``per_clip.csv``, ``per_set.csv`` and ``metrics.json`` (DVC metrics: ``{method: {set:
    {metric: value}}}`` plus the protocol of every set), each written atomically."""
    out_dir = Path(out_dir)
    per_set = summarize(per_clip)
    metrics = {'protocols': {name: p.describe() for name, p in protocols.items()}}
    for row in per_set.to_dict('records'):
        values = {k: round(v, 4) for k, v in row.items() if k not in ('method', 'set') and pd.notna(v)}
        metrics.setdefault(row['method'], {})[row['set']] = values
    for name, frame in (('per_clip.csv', per_clip), ('per_set.csv', per_set)):
        with atomic_path(out_dir / name) as tmp:
            frame.to_csv(tmp, index=False, float_format='%.4f')
    with atomic_path(out_dir / 'metrics.json') as tmp:
        tmp.write_text(json.dumps(metrics, indent=2) + '\n')
    return metrics
