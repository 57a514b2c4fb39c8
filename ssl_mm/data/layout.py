"""Write clips in the BasicSR/MMagic frame-folder layout that ``BasicFramesDataset`` reads."""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Mapping

import cv2
import numpy as np

from .degradations import bd_degrade


def write_frames_dataset(root: str | Path,
                         clips: Mapping[str, np.ndarray],
                         lr_dir: str = 'BDx4',
                         degrade: Callable[[np.ndarray], np.ndarray] = bd_degrade,
                         ann_file: str = 'meta_info_train.txt') -> Path:
    """``root/GT/<clip>/%08d.png``, ``root/<lr_dir>/<clip>/%08d.png`` and a meta file with one
    ``<clip> <frames> (<h>,<w>,3)`` line per clip. ``clips`` maps names to uint8 RGB (T,H,W,3)."""
    root = Path(root)
    lines = []
    for clip, frames in clips.items():
        for sub, convert in (('GT', None), (lr_dir, degrade)):
            folder = root / sub / clip
            folder.mkdir(parents=True, exist_ok=True)
            for i, frame in enumerate(frames):
                img = np.ascontiguousarray(frame)
                img = convert(img) if convert else img
                if not cv2.imwrite(str(folder / f'{i:08d}.png'), np.ascontiguousarray(img[:, :, ::-1])):
                    raise OSError(f'{folder / f"{i:08d}.png"}: could not write frame')
        lines.append(f'{clip} {len(frames)} ({frames.shape[1]},{frames.shape[2]},3)')
    (root / ann_file).write_text('\n'.join(lines) + '\n')
    return root
