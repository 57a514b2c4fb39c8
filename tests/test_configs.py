"""The training-input configs build MMagic datasets that yield real random patches."""
import cv2
import numpy as np
from conftest import REPO
from mmagic.registry import DATASETS
from mmengine.config import Config

import ssl_mm.data.frame_cache  # noqa: F401  (registers embedded.py's frame loader; stage configs import it)
from ssl_mm.data import DEGRADATIONS
from ssl_mm.data.layout import write_frames


def _gt_frames(n, size=24):
    rng = np.random.default_rng(0)
    return [rng.integers(0, 256, (size, size, 3), dtype=np.uint8) for _ in range(n)]


def _dataset(config, **overrides):
    cfg = Config.fromfile(str(REPO / 'configs' / '_base_' / 'datasets' / config)).train_dataloader.dataset
    cfg.update(overrides)
    for step in cfg.pipeline:
        if step['type'] == 'PairedRandomCrop':
            step['gt_patch_size'] = 16  # tiny fixtures; the configs' 64 / 256 need bigger frames
    return DATASETS.build(cfg)


def test_embedded_config_feeds_patches(frames_dataset):
    sample = _dataset('embedded.py', data_root=str(frames_dataset))[0]
    assert tuple(sample['inputs'].shape) == (5, 3, 4, 4)
    assert tuple(sample['data_samples'].gt_img.shape) == (5, 3, 16, 16)


def test_reds_config_reads_the_reds_layout(tmp_path):
    frames = _gt_frames(15)
    write_frames(tmp_path / 'train_sharp' / '001', frames)
    write_frames(tmp_path / 'train_sharp_bicubic' / 'X4' / '001', [DEGRADATIONS['BIx4'](f) for f in frames])
    (tmp_path / 'meta.txt').write_text('001 15 (24,24,3)\n')
    sample = _dataset('reds.py', data_root=str(tmp_path), ann_file=str(tmp_path / 'meta.txt'))[0]
    assert tuple(sample['inputs'].shape) == (15, 3, 4, 4)


def test_vimeo_config_mirrors_septuplets(tmp_path):
    for i, frame in enumerate(_gt_frames(7), start=1):
        for sub, img in (('GT', frame), ('BIx4', DEGRADATIONS['BIx4'](frame))):
            (tmp_path / sub / '00001' / '0001').mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(tmp_path / sub / '00001' / '0001' / f'im{i}.png'), img)
    (tmp_path / 'meta.txt').write_text('00001/0001 7 (24,24,3)\n')
    sample = _dataset('vimeo90k.py', data_root=str(tmp_path), ann_file=str(tmp_path / 'meta.txt'))[0]
    inputs = sample['inputs']
    assert tuple(inputs.shape) == (14, 3, 4, 4)
    assert (inputs[:7] == inputs[7:].flip(0)).all()  # MirrorSequence
