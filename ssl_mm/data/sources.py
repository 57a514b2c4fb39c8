"""Dataset sources at their standard (BasicSR / MMagic) layouts, with the upstream clip lists.

Every source turns a root folder into a list of :class:`Clip` (paired LR/GT frame paths) after
checking the layout, so that a wrong root, a missing frame or a frame-count mismatch fails at
once with one line naming the path and the fix, instead of deep inside a training loop.

Layouts (``<root>`` is what params.yaml points at):

* Vid4 / UDM10 / embedded: ``<root>/GT/<clip>/%08d.png`` and ``<root>/<BIx4|BDx4>/<clip>/...``
* REDS:   ``<root>/train_sharp/<clip>/%08d.png``, ``<root>/train_sharp_bicubic/X4/<clip>/...``;
  REDS4 = clips 000, 011, 015, 020 (100 frames each); training = the other 266 of 000-269
  (the upstream BasicSR/MMagic split, not SSL's list with extra clips 270-273).
* Vimeo-90K: ``<root>/GT/<seq>/<id>/im1..7.png`` and ``<root>/<BIx4|BDx4>/<seq>/<id>/im*.png``
  (MMagic's layout), clip lists ``sep_trainlist.txt`` (64,612) / ``sep_testlist.txt`` (7,824) as
  shipped with Vimeo-90K (not SSL's list, which overlaps the test set).
"""
from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from ..errors import DataError, RootError

REDS4_CLIPS = ('000', '011', '015', '020')
REDS_ALL_CLIPS = tuple(f'{i:03d}' for i in range(270))
REDS_TRAIN_CLIPS = tuple(c for c in REDS_ALL_CLIPS if c not in REDS4_CLIPS)
VID4_CLIPS = ('calendar', 'city', 'foliage', 'walk')
IMAGE_SUFFIXES = ('.png', '.jpg', '.jpeg', '.bmp')


@dataclass(frozen=True)
class Clip:
    name: str
    lr: tuple[Path, ...]
    gt: tuple[Path, ...]


def require_dir(path: Path, what: str, fix: str) -> Path:
    if not path.is_dir():
        raise DataError(f'{path}: {what} not found; {fix}')
    return path


def require_root(root: str | Path | None, set_name: str, layout: str) -> Path:
    """A data set's root folder, given as the argument ``root``: a :class:`RootError` if unset
    or not a folder (the caller renames ``root`` to its own argument, the stage to its key)."""
    if not root:
        raise RootError('root', root, f'is not set: {set_name} needs {{name}}, its root folder ({layout})')
    if not Path(root).is_dir():
        raise RootError('root', str(root), f'is not a folder: point {{name}} at the {set_name} root ({layout})')
    return Path(root)


def frame_files(folder: Path) -> list[Path]:
    """Image files of a clip folder, in natural order, checked for gaps in numbered names."""
    files = sorted((p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES),
                   key=lambda p: [int(t) if t.isdigit() else t for t in re.split(r'(\d+)', p.stem)])
    if not files:
        raise DataError(f'{folder}: no frames (.png/.jpg) in this clip folder')
    numbers = [int(m.group()) for p in files if (m := re.search(r'\d+$', p.stem))]
    if len(numbers) == len(files) and numbers != list(range(numbers[0], numbers[0] + len(numbers))):
        missing = sorted(set(range(numbers[0], numbers[-1] + 1)) - set(numbers))
        raise DataError(f'{folder}: frame {missing[0]} is missing ({len(files)} frames, numbered '
                        f'{numbers[0]}..{numbers[-1]}); restore it or re-run prepare_data')
    return files


def paired_clip(name: str, lr_dir: Path, gt_dir: Path, expected_frames: int | None = None) -> Clip:
    lr, gt = frame_files(lr_dir), frame_files(gt_dir)
    if len(lr) != len(gt):
        raise DataError(f'{lr_dir}: {len(lr)} LR frames but {gt_dir} has {len(gt)} GT frames; '
                        'regenerate the LR folder')
    if expected_frames is not None and len(gt) != expected_frames:
        raise DataError(f'{gt_dir}: {len(gt)} frames, the meta list says {expected_frames}; '
                        'the download is incomplete or the meta list is for another set')
    return Clip(name, tuple(lr), tuple(gt))


def read_frame(path: Path) -> np.ndarray:
    """uint8 RGB HxWx3; a corrupt or truncated file is a DataError naming it."""
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise DataError(f'{path}: unreadable image (corrupt or truncated); replace the file')
    return np.ascontiguousarray(img[:, :, ::-1])


def read_clip(paths: tuple[Path, ...]) -> np.ndarray:
    with ThreadPoolExecutor() as pool:  # OpenCV decodes without the GIL: ~1.8x on 2 cores
        frames = list(pool.map(read_frame, paths))
    shapes = {f.shape for f in frames}
    if len(shapes) != 1:
        raise DataError(f'{paths[0].parent}: frames of different sizes {sorted(shapes)}')
    return np.stack(frames)


def check_scale(lr: np.ndarray, gt: np.ndarray, scale: int, where: Path) -> None:
    if gt.shape[1:3] != (lr.shape[1] * scale, lr.shape[2] * scale):
        raise DataError(f'{where}: LR {lr.shape[2]}x{lr.shape[1]} x{scale} != GT '
                        f'{gt.shape[2]}x{gt.shape[1]}; LR and GT folders do not belong together')


def folder_clips(root: str | Path, lr_dir: str, gt_dir: str = 'GT',
                 clips: tuple[str, ...] | None = None, set_name: str = 'dataset') -> list[Clip]:
    """Vid4 / UDM10 / embedded layout; ``clips`` defaults to every GT sub-folder."""
    root = require_root(root, set_name, f'{gt_dir}/<clip>/, {lr_dir}/<clip>/')
    gt_root = require_dir(root / gt_dir, f'{set_name} GT folder', f'expected <root>/{gt_dir}/<clip>/')
    lr_root = require_dir(root / lr_dir, f'{set_name} LR folder {lr_dir}',
                          'run the prepare_data stage to generate it')
    names = clips or tuple(sorted(p.name for p in gt_root.iterdir() if p.is_dir()))
    return [paired_clip(n, require_dir(lr_root / n, 'LR clip', 'regenerate the LR folder'),
                        require_dir(gt_root / n, 'GT clip', 'the set is incomplete'))
            for n in names]


def reds_clips(root: str | Path, split: str = 'reds4') -> list[Clip]:
    """REDS ``train`` (266 clips) or ``reds4`` (000, 011, 015, 020), 100 frames each."""
    names = {'reds4': REDS4_CLIPS, 'train': REDS_TRAIN_CLIPS}[split]
    root = require_root(root, 'REDS', 'train_sharp/, train_sharp_bicubic/X4/')
    gt_root = require_dir(root / 'train_sharp', 'REDS train_sharp', 'expected <root>/train_sharp/<clip>/')
    lr_root = require_dir(root / 'train_sharp_bicubic' / 'X4', 'REDS train_sharp_bicubic/X4',
                          'expected <root>/train_sharp_bicubic/X4/<clip>/')
    return [paired_clip(n, require_dir(lr_root / n, 'REDS LR clip', 'the download is incomplete'),
                        require_dir(gt_root / n, 'REDS GT clip', 'the download is incomplete'), 100)
            for n in names]


def vimeo_clips(root: str | Path, lr_dir: str = 'BIx4', split: str = 'test') -> list[Clip]:
    """Vimeo-90K septuplets listed in the official ``sep_<split>list.txt`` (7 frames each)."""
    root = require_root(root, 'Vimeo-90K', 'GT/, BIx4/, sep_trainlist.txt, sep_testlist.txt')
    list_file = root / f'sep_{split}list.txt'
    if not list_file.is_file():
        raise DataError(f'{list_file}: official Vimeo-90K clip list missing; it ships with the '
                        'septuplet download')
    names = [line.strip() for line in list_file.read_text().splitlines() if line.strip()]
    gt_root = require_dir(root / 'GT', 'Vimeo-90K GT', 'expected <root>/GT/<seq>/<id>/im1..7.png')
    lr_root = require_dir(root / lr_dir, f'Vimeo-90K {lr_dir}', f'expected <root>/{lr_dir}/<seq>/<id>/')
    return [paired_clip(n, require_dir(lr_root / n, 'Vimeo-90K LR clip', 'regenerate the LR folder'),
                        require_dir(gt_root / n, 'Vimeo-90K GT clip', 'the download is incomplete'), 7)
            for n in names]


def write_meta_file(path: Path, clips: list[Clip]) -> Path:
    """MMagic/BasicSR meta info: ``<clip> <frames> (<h>,<w>,3)`` per clip (GT size)."""
    lines = []
    for clip in clips:
        try:
            with Image.open(clip.gt[0]) as img:  # reads the header only: fast for 64k clips
                w, h = img.size
        except OSError as err:
            raise DataError(f'{clip.gt[0]}: unreadable image ({err}); replace the file') from None
        lines.append(f'{clip.name} {len(clip.gt)} ({h},{w},3)')
    path.write_text('\n'.join(lines) + '\n')
    return path
