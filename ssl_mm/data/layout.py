"""Write clips in the BasicSR/MMagic frame-folder layout that ``BasicFramesDataset`` reads:
``<root>/GT/<clip>/%08d.png`` and ``<root>/<BIx4|BDx4>/<clip>/%08d.png``."""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Mapping, Sequence

import cv2
import numpy as np
from tqdm import tqdm

from .degradations import DEGRADATIONS


def write_frames(folder: Path, frames: Sequence[np.ndarray]) -> None:
    """uint8 RGB frames -> ``folder/%08d.png`` (deterministic bytes)."""
    folder.mkdir(parents=True, exist_ok=True)
    for i, frame in enumerate(frames):
        path = folder / f'{i:08d}.png'
        if not cv2.imwrite(str(path), np.ascontiguousarray(frame[:, :, ::-1])):
            raise OSError(f'{path}: could not write frame (disk full or no permission?)')


def write_frames_dataset(root: str | Path,
                         clips: Mapping[str, Sequence[np.ndarray]],
                         degradations: Mapping[str, Callable[[np.ndarray], np.ndarray]] = DEGRADATIONS,
                         write_gt: bool = True,
                         ann_file: str | None = None) -> Path:
    """GT (unless ``write_gt`` is False, e.g. when it was copied byte for byte) and one LR
    folder per degradation; with ``ann_file`` also a ``<clip> <frames> (<h>,<w>,3)`` meta file."""
    root = Path(root)
    for clip, frames in clips.items():
        if write_gt:
            write_frames(root / 'GT' / clip, frames)
        for sub, degrade in degradations.items():
            write_frames(root / sub / clip, [degrade(np.ascontiguousarray(f)) for f in tqdm(
                frames, desc=f'{root.name}/{sub}/{clip}', unit='frame', leave=False)])
    if ann_file:
        lines = [f'{clip} {len(frames)} ({frames[0].shape[0]},{frames[0].shape[1]},3)'
                 for clip, frames in clips.items()]
        (root / ann_file).write_text('\n'.join(lines) + '\n')
    return root
