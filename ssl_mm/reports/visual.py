"""The visual comparison every VSR paper shows: the same crop of one frame from GT, Bicubic and
each network side by side, each labelled with its Y-PSNR on that frame.

The frame is the clip's middle one; the crop is the square window of the GT frame with the most
detail (the largest mean gradient magnitude), chosen from GT alone so that it favours no network.
Outputs are produced as the evaluation produces them (the set's protocol: mirrored pass,
chunking), so a frame's PSNR here is the one behind the tables' per-clip means.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..data.sources import Clip, read_clip
from ..eval.evaluate import Upscaler, frame_scores, super_resolve
from ..eval.protocols import Protocol
from .figures import plt, save


def detail_window(gt: np.ndarray, side: int) -> tuple[int, int]:
    """Top-left corner of the ``side`` x ``side`` window of ``gt`` (h, w, 3) with the largest
    mean gradient magnitude (a summed-area table over the luma gradient, stride side // 8)."""
    luma = gt.astype(np.float32).mean(axis=2)
    gy, gx = np.gradient(luma)
    energy = np.pad(np.hypot(gx, gy).cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    h, w = luma.shape
    stride = max(1, side // 8)
    best, corner = -1.0, (0, 0)
    for y in range(0, h - side + 1, stride):
        for x in range(0, w - side + 1, stride):
            total = energy[y + side, x + side] - energy[y, x + side] - energy[y + side, x] + energy[y, x]
            if total > best:
                best, corner = total, (y, x)
    return corner


@dataclass(frozen=True)
class Panel:
    title: str
    psnr_y: float | None  # on the whole frame (None: GT itself)
    crop: np.ndarray


def panels(upscalers: dict[str, Upscaler], labels: dict[str, str], clip: Clip, protocol: Protocol,
           side: int | None = None) -> tuple[np.ndarray, int, tuple[int, int, int], list[Panel]]:
    """(GT frame, its index, (y, x, side) of the crop, GT's panel then one per upscaler)."""
    lr, gt = read_clip(clip.lr[:protocol.max_frames]), read_clip(clip.gt[:protocol.max_frames])
    t = len(lr) // 2
    frame = gt[t]
    side = side or min(frame.shape[:2]) // 2
    y, x = detail_window(frame, side)
    out = [Panel('GT', None, frame[y:y + side, x:x + side])]
    for name, upscaler in upscalers.items():
        sr = super_resolve(upscaler, lr, protocol)[t]
        psnr = frame_scores(frame, sr, protocol)['psnr_y']
        out.append(Panel(f'{labels.get(name, name)}\n{psnr:.2f} dB', psnr, sr[y:y + side, x:x + side]))
    return frame, t, (y, x, side), out


def visual_comparison(upscalers: dict[str, Upscaler], labels: dict[str, str], clip: Clip, protocol: Protocol,
                      title: str, path: Path, side: int | None = None) -> Path:
    """GT (whole frame, crop outlined), then the crop of GT and of each upscaler's output, enlarged
    with nearest-neighbour pixels; each output titled with its label and Y-PSNR on this frame."""
    frame, t, (y, x, side), shown = panels(upscalers, labels, clip, protocol, side)
    columns = 4
    rows = 1 + -(-len(shown) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 4.4 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis('off')
    whole = plt.subplot2grid((rows, columns), (0, 0), colspan=columns, fig=fig)
    whole.imshow(frame)
    whole.add_patch(plt.Rectangle((x, y), side, side, fill=False, edgecolor='red', linewidth=2))
    whole.set_title(f'{clip.name}, frame {t} (GT); the crop below in red', fontsize=11)
    whole.axis('off')
    for ax, panel in zip(axes[1:].flat, shown):
        ax.imshow(panel.crop, interpolation='nearest')
        ax.set_title(panel.title, fontsize=11)
    fig.suptitle(title, fontsize=12)
    return save(fig, path)
